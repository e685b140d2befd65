/*
 * The node-addon-api glue: argument conversion and errors only. The C core
 * (tap, tables, dp_process, io) knows nothing of JavaScript.
 */
#include <napi.h>

#include <string>

extern "C" {
#include "errno_name.h"
#include "tap.h"
}

namespace {

/** A JavaScript Error whose `code` is the errno name (`EPERM`, `EBUSY`, ...). */
Napi::Error ErrnoError(Napi::Env env, int err, const std::string &what) {
  Napi::Error e = Napi::Error::New(env, what + ": " + errno_name(err) + " (" + std::to_string(err) + ")");
  e.Set("code", Napi::String::New(env, errno_name(err)));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, what));
  return e;
}

bool OptionFlag(const Napi::Object &opts, const char *key) {
  if (!opts.Has(key)) return false;
  Napi::Value v = opts.Get(key);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

/** tapOpen(name, { vnetHdr?, persist?, nonBlocking? }) → fd. */
Napi::Value TapOpen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "tapOpen(name, opts): name must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
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
  bool supported = tap_supported() != 0;
  exports.Set("supported", Napi::Boolean::New(env, supported));
  exports.Set("unsupportedReason",
              supported ? env.Null() : Napi::String::New(env, "TAP devices and the native data path need Linux"));
  exports.Set("tapOpen", Napi::Function::New(env, TapOpen, "tapOpen"));
  return exports;
}

}  // namespace

NODE_API_MODULE(overlayd, Init)
