/* The multicast methods of DatapathHandle; see binding_mcast.h. */
#include "binding/binding_mcast.h"

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "binding/binding_addr.h"
#include "binding/binding_util.h"

namespace overlayd {

namespace {

std::string MacText(const uint8_t *mac) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return buf;
}

void AddGroup(const uint8_t *mac, const dp_group *g, void *arg) {
  auto *list = static_cast<RowList *>(arg);
  Napi::Object row = Napi::Object::New(list->env);
  row.Set("mac", Napi::String::New(list->env, MacText(mac)));
  Napi::Array vteps = Napi::Array::New(list->env, g->n);
  for (uint32_t i = 0; i < g->n; i++) vteps.Set(i, AddrString(list->env, g->to[i].vtep));
  row.Set("vteps", vteps);
  list->Push(row);
}

}  // namespace

bool MulticastArg(const Napi::CallbackInfo &info, size_t i, dp_multicast *out) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return false;
  if (!info[i].IsObject()) throw ArgError(info.Env(), "multicast must be an object");
  Napi::Value rate = info[i].As<Napi::Object>().Get("rate");
  double v = rate.IsNumber() ? rate.As<Napi::Number>().DoubleValue() : -1;
  if (v < 0 || v > 4294967295.0 || v != static_cast<double>(static_cast<uint32_t>(v)))
    throw ArgError(info.Env(), "multicast.rate must be an unsigned 32-bit integer", false);
  out->rate = static_cast<uint32_t>(v);
  return true;
}

Napi::Value GroupSet(dp_datapath *dp, const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t vni = Uint32Arg(info, 0, "vni");
  uint8_t mac[6];
  MacArg(info, 1, "mac", mac);
  if (info.Length() <= 2 || !info[2].IsArray()) throw ArgError(env, "vteps must be an array");
  Napi::Array list = info[2].As<Napi::Array>();
  std::vector<dp_addr> vteps(list.Length());
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    std::string text = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
    if (addr_parse(text.c_str(), &vteps[i]) < 0) throw ArgError(env, "vteps: not an IP address: " + text, false);
  }
  int rc = tables_group_set(&dp->tables, vni, mac, vteps.data(), vteps.size());
  if (rc == -EINVAL) throw ArgError(env, "mac: not a group MAC address: " + MacText(mac), false);
  if (rc < 0 && rc != -ENOENT) throw ErrnoError(env, -rc, "groupSet");
  return Napi::Boolean::New(env, rc == 0);
}

Napi::Value Groups(dp_datapath *dp, const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  RowList list(env);
  if (datapath_groups(dp, Uint32Arg(info, 0, "vni"), AddGroup, &list) < 0) return env.Null();
  return list.rows;
}

Napi::Value Inject(dp_datapath *dp, const Napi::CallbackInfo &info) {
  uint32_t vni = Uint32Arg(info, 0, "vni");
  Napi::Buffer<uint8_t> frame = BufferArg(info, 1, "frame");
  return Napi::Boolean::New(info.Env(), datapath_inject(dp, vni, frame.Data(), frame.Length()) == 0);
}

Napi::Array TraceVteps(Napi::Env env, const dp_trace &t) {
  uint32_t n = t.nvteps < t.vteps_cap ? t.nvteps : t.vteps_cap;
  Napi::Array a = Napi::Array::New(env, n);
  for (uint32_t i = 0; i < n; i++) a.Set(i, AddrString(env, t.vteps[i]));
  return a;
}

}  // namespace overlayd
