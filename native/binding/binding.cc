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
#include "datapath/datapath.h"
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

static int TapOptions(const Napi::CallbackInfo &info) {
  int opts = 0;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    if (OptionFlag(o, "vnetHdr")) opts |= TAP_OPT_VNET_HDR;
    if (OptionFlag(o, "persist")) opts |= TAP_OPT_PERSIST;
    if (OptionFlag(o, "nonBlocking")) opts |= TAP_OPT_NONBLOCK;
    if (OptionFlag(o, "noUdpOffload")) opts |= TAP_OPT_NO_USO;
  }
  return opts;
}

/** tapOpen(name, { vnetHdr?, persist?, nonBlocking? }) → fd. */
Napi::Value TapOpen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "tapOpen(name, opts): name");
  int fd = tap_open(name.c_str(), TapOptions(info));
  if (fd < 0) throw ErrnoError(env, -fd, "tapOpen " + name);
  return Napi::Number::New(env, fd);
}

/** tapOpenQueues(name, opts, n) → up to n queue descriptors of the multi-queue TAP (one for a single-queue one). */
Napi::Value TapOpenQueues(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "tapOpenQueues(name, opts, n): name");
  uint32_t n = Uint32Arg(info, 2, "tapOpenQueues(name, opts, n): n");
  if (n < 1 || n > DP_MAX_WORKERS) throw ArgError(env, "n must be 1–" + std::to_string(DP_MAX_WORKERS), false);
  int fds[DP_MAX_WORKERS];
  int got = tap_open_queues(name.c_str(), TapOptions(info), static_cast<int>(n), fds);
  if (got < 0) throw ErrnoError(env, -got, "tapOpenQueues " + name);
  Napi::Array out = Napi::Array::New(env, static_cast<size_t>(got));
  for (int i = 0; i < got; i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, fds[i]));
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  bool supported = tap_supported() != 0 && io_supported() != 0;
  exports.Set("supported", Napi::Boolean::New(env, supported));
  exports.Set("unsupportedReason",
              supported ? env.Null() : Napi::String::New(env, "TAP devices and the native data path need Linux"));
  exports.Set("counterSlots", Napi::Number::New(env, DP_COUNTER_SLOTS));
  exports.Set("counterRows", Napi::Number::New(env, DATAPATH_COUNTER_ROWS));
  exports.Set("maxWorkers", Napi::Number::New(env, DP_MAX_WORKERS));
  exports.Set("tapOpen", Napi::Function::New(env, TapOpen, "tapOpen"));
  exports.Set("tapOpenQueues", Napi::Function::New(env, TapOpenQueues, "tapOpenQueues"));
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
