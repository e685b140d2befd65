/* Capture options and punted packets of DatapathHandle; see binding_capture.h. */
#include "binding/binding_capture.h"

#include <cstring>
#include <string>

#include "binding/binding_addr.h"
#include "binding/binding_util.h"

namespace overlayd {

namespace {

bool Flag(const Napi::Object &o, const char *key) { return o.Has(key) && o.Get(key).ToBoolean().Value(); }

/** An optional address field: false when absent; ERR_INVALID_ARG_VALUE when not an address. */
bool AddrField(const Napi::Object &o, const char *key, dp_addr *out) {
  if (!o.Has(key) || o.Get(key).IsUndefined()) return false;
  Napi::Value v = o.Get(key);
  std::string text = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (addr_parse(text.c_str(), out) < 0) throw ArgError(o.Env(), std::string("capture.") + key + ": not an IP address: " + text, false);
  return true;
}

}  // namespace

dp_capture CaptureArg(const Napi::CallbackInfo &info, size_t i) {
  dp_capture c;
  std::memset(&c, 0, sizeof c);
  if (info.Length() <= i || !info[i].IsObject()) return c; /* nothing to mirror: off */
  Napi::Object o = info[i].As<Napi::Object>();
  c.inner = Flag(o, "inner");
  c.outer = Flag(o, "outer");
  c.has_host = AddrField(o, "host", &c.host);
  c.has_vtep = AddrField(o, "vtep", &c.vtep);
  return c;
}

Napi::Object PuntItemObject(Napi::Env env, const punt_item &item) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("vni", Napi::Number::New(env, item.meta.vni));
  static const char *const kDirections[] = {"egress", "ingress", "probe", "membership"};
  o.Set("direction", Napi::String::New(env, kDirections[item.meta.direction]));
  if (item.has_vtep) o.Set("vtep", AddrString(env, item.vtep));
  o.Set("frame", Napi::Buffer<uint8_t>::Copy(env, item.frame, item.len));
  if (item.meta.outer) {
    Napi::Object outer = Napi::Object::New(env);
    outer.Set("proto", Napi::String::New(env, item.meta.proto == 50 ? "esp" : "udp"));
    outer.Set("localPort", Napi::Number::New(env, item.meta.local_port));
    outer.Set("remotePort", Napi::Number::New(env, item.meta.remote_port));
    o.Set("outer", outer);
  }
  return o;
}

}  // namespace overlayd
