/*
 * peerCredentials(fd): who is at the other end of a connected unix socket
 * (SO_PEERCRED), so the control API can keep secrets (`overlayctl keys
 * --show-secrets`) for root even when its socket is group-accessible.
 */
#include <napi.h>

#include <cerrno>

#include "binding/binding_util.h"

#ifdef __linux__
#include <sys/socket.h>
#endif

namespace overlayd {
namespace {

/** peerCredentials(fd) → { pid, uid, gid } */
Napi::Value PeerCredentials(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t fd = Uint32Arg(info, 0, "peerCredentials(fd): fd");
#ifdef __linux__
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) throw ErrnoError(env, errno, "getsockopt SO_PEERCRED");
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, cred.pid));
  out.Set("uid", Napi::Number::New(env, cred.uid));
  out.Set("gid", Napi::Number::New(env, cred.gid));
  return out;
#else
  (void)fd;
  throw ErrnoError(env, ENOTSUP, "getsockopt SO_PEERCRED");
#endif
}

}  // namespace

/** Registers peerCredentials on `exports`. */
void InitCred(Napi::Env env, Napi::Object exports) {
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials, "peerCredentials"));
}

}  // namespace overlayd
