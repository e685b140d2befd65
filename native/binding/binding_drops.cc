// Drop events and per-network drop counts; see binding_drops.h.
#include "binding/binding_drops.h"

#include "binding/binding_addr.h"
#include "binding/binding_util.h"

namespace overlayd {

namespace {

const char *KindName(int kind) {
  return kind == DROP_KIND_VXLAN ? "vxlan" : kind == DROP_KIND_ESP ? "esp" : "frame";
}

Napi::Object EventObject(Napi::Env env, const drop_event &e) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("reason", Napi::Number::New(env, e.reason));
  o.Set("direction", Napi::String::New(env, e.ingress ? "ingress" : "egress"));
  o.Set("kind", Napi::String::New(env, KindName(e.kind)));
  if (e.vni_known) o.Set("vni", Napi::Number::New(env, e.vni));
  if (e.has_vtep) o.Set("vtep", AddrString(env, e.vtep));
  o.Set("suppressed", Napi::Number::New(env, static_cast<double>(e.suppressed)));
  o.Set("len", Napi::Number::New(env, e.len));
  o.Set("head", Napi::Buffer<uint8_t>::Copy(env, e.head, e.head_len));
  return o;
}

}  // namespace

Napi::Array DrainDropEvents(Napi::Env env, drop_sampler *s, uint64_t *lost) {
  Napi::Array all = Napi::Array::New(env);
  drop_event batch[16];
  size_t n, total = 0;
  while ((n = drop_sampler_pop(s, batch, 16, lost)) > 0)
    for (size_t i = 0; i < n; i++) all.Set(total++, EventObject(env, batch[i]));
  return all;
}

Napi::Value NetworkDrops(dp_datapath *dp, const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint64_t drops[DP_NET_DROP_SLOTS];
  if (datapath_network_drops(dp, Uint32Arg(info, 0, "vni"), drops) < 0) return env.Null();
  Napi::Array out = Napi::Array::New(env, DP_DROP_REASONS);
  for (uint32_t r = 0; r < DP_DROP_REASONS; r++) out.Set(r, Napi::Number::New(env, static_cast<double>(drops[r])));
  return out;
}

}  // namespace overlayd
