// Helpers shared by the binding files: errno errors and argument checks.
#ifndef OVERLAYD_BINDING_UTIL_H
#define OVERLAYD_BINDING_UTIL_H

#include <napi.h>

#include <string>

extern "C" {
#include "base/errno_name.h"
}

namespace overlayd {

/** A JavaScript Error whose `code` is the errno name (`EPERM`, `EBUSY`, ...). */
inline Napi::Error ErrnoError(Napi::Env env, int err, const std::string &what) {
  Napi::Error e = Napi::Error::New(env, what + ": " + errno_name(err) + " (" + std::to_string(err) + ")");
  e.Set("code", Napi::String::New(env, errno_name(err)));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, what));
  return e;
}

/** A TypeError with code ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE. */
inline Napi::Error ArgError(Napi::Env env, const std::string &message, bool type = true) {
  Napi::Error e = Napi::TypeError::New(env, message);
  e.Set("code", Napi::String::New(env, type ? "ERR_INVALID_ARG_TYPE" : "ERR_INVALID_ARG_VALUE"));
  return e;
}

inline std::string StringArg(const Napi::CallbackInfo &info, size_t i, const char *name) {
  if (info.Length() <= i || !info[i].IsString()) throw ArgError(info.Env(), std::string(name) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

inline uint32_t Uint32Arg(const Napi::CallbackInfo &info, size_t i, const char *name) {
  if (info.Length() <= i || !info[i].IsNumber()) throw ArgError(info.Env(), std::string(name) + " must be a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (v < 0 || v > 4294967295.0 || v != static_cast<double>(static_cast<uint32_t>(v)))
    throw ArgError(info.Env(), std::string(name) + " must be an unsigned 32-bit integer", false);
  return static_cast<uint32_t>(v);
}

inline Napi::Buffer<uint8_t> BufferArg(const Napi::CallbackInfo &info, size_t i, const char *name) {
  if (info.Length() <= i || !info[i].IsBuffer()) throw ArgError(info.Env(), std::string(name) + " must be a Buffer");
  return info[i].As<Napi::Buffer<uint8_t>>();
}

/** Rows a C callback collects into a JavaScript array (the `arg` of a datapath_*_each style walk). */
struct RowList {
  Napi::Env env;
  Napi::Array rows;
  explicit RowList(Napi::Env e) : env(e), rows(Napi::Array::New(e)) {}
  void Push(Napi::Value row) { rows.Set(rows.Length(), row); }
};

/** Registers the DatapathHandle class on `exports` (binding_datapath.cc). */
void InitDatapath(Napi::Env env, Napi::Object exports);

}  // namespace overlayd

#endif
