/*
 * The node-addon-api glue, module part: platform support, tapOpen and the
 * DatapathHandle class (binding_datapath.cc). Argument conversion and errors
 * only; the C core (tap, tables, pipeline, io, datapath) knows nothing of JavaScript.
 */
#include <napi.h>

#include <string>

#include "binding/binding_util.h"

extern "C" {
#include "pipeline/counters.h"
#include "io/io.h"
#include "tap/tap.h"
}

namespace overlayd {

/** Registers EspSaHandle (binding_esp.cc). */
void InitEsp(Napi::Env env, Napi::Object exports);
/** Registers peerCredentials (binding_cred.cc). */
void InitCred(Napi::Env env, Napi::Object exports);
/** Registers rawOpen, rawRecv, rawSend, rawShutdown (binding_raw.cc). */
void InitRaw(Napi::Env env, Napi::Object exports);

namespace {

bool OptionFlag(const Napi::Object &opts, const char *key) {
  if (!opts.Has(key)) return false;
  Napi::Value v = opts.Get(key);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

/** tapOpen(name, { vnetHdr?, persist?, nonBlocking? }) → fd. */
Napi::Value TapOpen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "tapOpen(name, opts): name");
  int opts = 0;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    if (OptionFlag(o, "vnetHdr")) opts |= TAP_OPT_VNET_HDR;
    if (OptionFlag(o, "persist")) opts |= TAP_OPT_PERSIST;
    if (OptionFlag(o, "nonBlocking")) opts |= TAP_OPT_NONBLOCK;
  }
  int fd = tap_open(name.c_str(), opts);
  if (fd < 0) throw ErrnoError(env, -fd, "tapOpen " + name);
  return Napi::Number::New(env, fd);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  bool supported = tap_supported() != 0 && io_supported() != 0;
  exports.Set("supported", Napi::Boolean::New(env, supported));
  exports.Set("unsupportedReason",
              supported ? env.Null() : Napi::String::New(env, "TAP devices and the native data path need Linux"));
  exports.Set("counterSlots", Napi::Number::New(env, DP_COUNTER_SLOTS));
  exports.Set("counterRows", Napi::Number::New(env, 1 + IO_WORKERS));
  exports.Set("tapOpen", Napi::Function::New(env, TapOpen, "tapOpen"));
  InitDatapath(env, exports);
  InitEsp(env, exports);
  InitCred(env, exports);
  InitRaw(env, exports);
  return exports;
}

}  // namespace
}  // namespace overlayd

static Napi::Object InitOverlayd(Napi::Env env, Napi::Object exports) { return overlayd::Init(env, exports); }

NODE_API_MODULE(overlayd, InitOverlayd)
