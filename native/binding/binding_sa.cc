/*
 * The encrypted-network face of DatapathHandle: the SA tables (sa_table.c)
 * that src/dataplane/native.ts fills from its EspPlanner, and the SA
 * listing. Argument conversion only.
 */
#include "binding/binding_sa.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "binding/binding_addr.h"
#include "binding/binding_util.h"

extern "C" {
#include "esp/esp.h"
#include "esp/sa_table.h"
}

namespace overlayd {
namespace {

/** An integer in 0..2^53−1 (a sequence number). */
uint64_t SeqArg(const Napi::CallbackInfo &info, size_t i, const char *name) {
  if (info.Length() <= i || !info[i].IsNumber()) throw ArgError(info.Env(), std::string(name) + " must be a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0 && v <= 9007199254740991.0) || std::floor(v) != v)
    throw ArgError(info.Env(), std::string(name) + " must be an integer in 0..2^53-1", false);
  return static_cast<uint64_t>(v);
}

/** Arguments spi, key, salt, esn, keyTag at `first`…`first + 4`. `key`/`salt` point into the JS buffers. */
dp_sa_params SaParamsArg(const Napi::CallbackInfo &info, size_t first) {
  dp_sa_params p{};
  p.spi = Uint32Arg(info, first, "spi");
  Napi::Buffer<uint8_t> key = BufferArg(info, first + 1, "key");
  Napi::Buffer<uint8_t> salt = BufferArg(info, first + 2, "salt");
  if (info.Length() <= first + 3 || !info[first + 3].IsBoolean()) throw ArgError(info.Env(), "esn must be a boolean");
  p.esn = info[first + 3].As<Napi::Boolean>().Value() ? 1 : 0;
  p.key_tag = Uint32Arg(info, first + 4, "keyTag");
  if (p.spi == 0) throw ArgError(info.Env(), "spi must be non-zero", false);
  if (key.Length() != 16 && key.Length() != 32) throw ArgError(info.Env(), "key must be 16 or 32 bytes", false);
  if (salt.Length() != ESP_SALT_LEN) throw ArgError(info.Env(), "salt must be 4 bytes", false);
  p.key = key.Data();
  p.key_len = key.Length();
  p.salt = salt.Data();
  return p;
}

struct SaCollector {
  std::vector<dp_sa_info> infos;
  static void Add(const dp_sa_info *info, void *arg) { static_cast<SaCollector *>(arg)->infos.push_back(*info); }
};

}  // namespace

bool EncryptionArg(const Napi::CallbackInfo &info, size_t i, dp_encryption *out) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return false;
  if (!info[i].IsObject()) throw ArgError(info.Env(), "encryption must be an object");
  Napi::Value carrier = info[i].As<Napi::Object>().Get("carrier");
  std::string text = carrier.IsString() ? carrier.As<Napi::String>().Utf8Value() : "";
  if (text == "ip") out->carrier = DP_CARRIER_IP;
  else if (text == "udp") out->carrier = DP_CARRIER_UDP;
  else throw ArgError(info.Env(), "encryption.carrier must be 'ip' or 'udp'", false);
  return true;
}

Napi::Value SaOutboundSet(dp_tables *t, const Napi::CallbackInfo &info) {
  uint32_t vni = Uint32Arg(info, 0, "vni");
  dp_addr peer = AddrArg(info, 1, "peer");
  dp_sa_params p = SaParamsArg(info, 2);
  uint64_t last_used = SeqArg(info, 7, "lastUsed");
  int rc = tables_sa_out_set(t, vni, &peer, &p, last_used);
  if (rc < 0) throw ErrnoError(info.Env(), -rc, "saOutboundSet");
  return info.Env().Undefined();
}

Napi::Value SaOutboundDelete(dp_tables *t, const Napi::CallbackInfo &info) {
  uint32_t vni = Uint32Arg(info, 0, "vni");
  dp_addr peer = AddrArg(info, 1, "peer");
  return Napi::Boolean::New(info.Env(), tables_sa_out_delete(t, vni, &peer) == 0);
}

Napi::Value SaInboundAdd(dp_tables *t, const Napi::CallbackInfo &info) {
  uint32_t vni = Uint32Arg(info, 0, "vni");
  dp_addr peer = AddrArg(info, 1, "peer");
  dp_sa_params p = SaParamsArg(info, 2);
  uint32_t window = Uint32Arg(info, 7, "windowSize");
  uint64_t top = SeqArg(info, 8, "windowTop");
  int rc = tables_sa_in_add(t, vni, &peer, &p, window, top);
  if (rc < 0) throw ErrnoError(info.Env(), -rc, "saInboundAdd");
  return info.Env().Undefined();
}

Napi::Value SaInboundDelete(dp_tables *t, const Napi::CallbackInfo &info) {
  uint32_t vni = Uint32Arg(info, 0, "vni");
  dp_addr peer = AddrArg(info, 1, "peer");
  uint32_t spi = Uint32Arg(info, 2, "spi");
  uint32_t key_tag = Uint32Arg(info, 3, "keyTag");
  return Napi::Boolean::New(info.Env(), tables_sa_in_delete(t, vni, &peer, spi, key_tag) == 0);
}

Napi::Value SaList(dp_tables *t, const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int64_t vni = info.Length() > 0 && info[0].IsNumber() ? static_cast<int64_t>(Uint32Arg(info, 0, "vni")) : -1;
  SaCollector c;
  tables_sa_each(t, vni, SaCollector::Add, &c);
  Napi::Array list = Napi::Array::New(env, c.infos.size());
  for (size_t i = 0; i < c.infos.size(); i++) {
    const dp_sa_info &s = c.infos[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("vni", Napi::Number::New(env, s.vni));
    o.Set("peer", AddrString(env, s.peer));
    o.Set("keyTag", Napi::Number::New(env, s.key_tag));
    o.Set("spi", Napi::Number::New(env, s.spi));
    o.Set("direction", Napi::String::New(env, s.outbound ? "out" : "in"));
    o.Set("seq", Napi::Number::New(env, static_cast<double>(s.seq)));
    list.Set(i, o);
  }
  return list;
}

}  // namespace overlayd
