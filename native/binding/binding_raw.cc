/*
 * Raw IP sockets for the TypeScript path's ESP carrier `ip` (IP protocol 50),
 * which node:dgram cannot open:
 *
 *   rawOpen(family 4|6, protocol, bindAddress) → fd
 *   rawRecv(fd, buffer, callback(err, length, sourceAddress))
 *       one packet (IPv4: its IP header already removed) into `buffer`, read
 *       on the libuv pool; length 0 when nothing came within half a second or
 *       the socket was shut down, so a stopping reader never hangs
 *   rawSend(fd, buffer, address) → bytes sent (throws on failure)
 *   rawShutdown(fd)  wakes a pending rawRecv (then close the fd with fs.close)
 */
#include <napi.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "binding/binding_util.h"

namespace overlayd {

namespace {

/** How long one rawRecv waits before reporting "nothing" (ms). */
constexpr int kRecvPollMs = 500;

/** Parses `text` into `ss`; false when it is not an address of `family`. */
bool ToSockaddr(int family, const std::string &text, sockaddr_storage *ss, socklen_t *len) {
  std::memset(ss, 0, sizeof(*ss));
  if (family == 4) {
    auto *sin = reinterpret_cast<sockaddr_in *>(ss);
    sin->sin_family = AF_INET;
    *len = sizeof(*sin);
    return inet_pton(AF_INET, text.c_str(), &sin->sin_addr) == 1;
  }
  auto *sin6 = reinterpret_cast<sockaddr_in6 *>(ss);
  sin6->sin6_family = AF_INET6;
  *len = sizeof(*sin6);
  return inet_pton(AF_INET6, text.c_str(), &sin6->sin6_addr) == 1;
}

int SocketFamily(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len) != 0) return -errno;
  return ss.ss_family == AF_INET6 ? 6 : 4;
}

/** rawOpen(family, protocol, bindAddress) → fd. */
Napi::Value RawOpen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t family = Uint32Arg(info, 0, "rawOpen(family, protocol, bindAddress): family");
  uint32_t protocol = Uint32Arg(info, 1, "rawOpen(family, protocol, bindAddress): protocol");
  std::string bind = StringArg(info, 2, "rawOpen(family, protocol, bindAddress): bindAddress");
  if (family != 4 && family != 6) throw ArgError(env, "rawOpen: family must be 4 or 6", false);
  if (protocol == 0 || protocol > 255) throw ArgError(env, "rawOpen: protocol must be 1..255", false);
  sockaddr_storage ss;
  socklen_t len;
  if (!ToSockaddr(static_cast<int>(family), bind, &ss, &len)) throw ArgError(env, "rawOpen: bad bind address " + bind, false);
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_CLOEXEC, static_cast<int>(protocol));
  if (fd < 0) throw ErrnoError(env, errno, "rawOpen socket");
  if (family == 6) {
    int on = 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
  }
  int rcvbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (::bind(fd, reinterpret_cast<sockaddr *>(&ss), len) != 0) {
    int err = errno;
    close(fd);
    throw ErrnoError(env, err, "rawOpen bind " + bind);
  }
  return Napi::Number::New(env, fd);
}

/** One blocking receive on the libuv pool. */
class RecvWorker : public Napi::AsyncWorker {
 public:
  RecvWorker(Napi::Function cb, int fd, Napi::Buffer<uint8_t> buffer)
      : Napi::AsyncWorker(cb, "overlayd.rawRecv"), fd_(fd), data_(buffer.Data()), size_(buffer.Length()) {
    buffer_ = Napi::Persistent(buffer.As<Napi::Object>());
  }

  void Execute() override {
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, kRecvPollMs);
    if (r < 0) {
      if (errno != EINTR) err_ = errno;
      return;
    }
    if (r == 0) return;
    sockaddr_storage from{};
    socklen_t fromLen = sizeof(from);
    ssize_t n = recvfrom(fd_, data_, size_, MSG_DONTWAIT, reinterpret_cast<sockaddr *>(&from), &fromLen);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) err_ = errno;
      return;
    }
    char text[INET6_ADDRSTRLEN] = "";
    if (from.ss_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in *>(&from)->sin_addr, text, sizeof(text));
      // An IPv4 raw socket hands over the IP header too: keep what follows it.
      size_t ihl = n > 0 ? static_cast<size_t>(data_[0] & 0x0f) * 4 : 0;
      if (ihl < 20 || ihl > static_cast<size_t>(n)) return;
      std::memmove(data_, data_ + ihl, static_cast<size_t>(n) - ihl);
      n -= static_cast<ssize_t>(ihl);
    } else if (from.ss_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6 *>(&from)->sin6_addr, text, sizeof(text));
    } else {
      return;
    }
    length_ = static_cast<size_t>(n);
    source_ = text;
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Value err = err_ != 0 ? ErrnoError(env, err_, "rawRecv").Value() : env.Null();
    Callback().Call({err, Napi::Number::New(env, static_cast<double>(length_)), Napi::String::New(env, source_)});
  }

 private:
  int fd_;
  uint8_t *data_;
  size_t size_;
  Napi::ObjectReference buffer_;
  int err_ = 0;
  size_t length_ = 0;
  std::string source_;
};

/** rawRecv(fd, buffer, callback(err, length, sourceAddress)). */
Napi::Value RawRecv(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t fd = Uint32Arg(info, 0, "rawRecv(fd, buffer, callback): fd");
  Napi::Buffer<uint8_t> buffer = BufferArg(info, 1, "rawRecv(fd, buffer, callback): buffer");
  if (info.Length() < 3 || !info[2].IsFunction()) throw ArgError(env, "rawRecv(fd, buffer, callback): callback must be a function");
  auto *worker = new RecvWorker(info[2].As<Napi::Function>(), static_cast<int>(fd), buffer);
  worker->Queue();
  return env.Undefined();
}

/** rawSend(fd, buffer, address) → bytes sent. */
Napi::Value RawSend(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t fd = Uint32Arg(info, 0, "rawSend(fd, buffer, address): fd");
  Napi::Buffer<uint8_t> buffer = BufferArg(info, 1, "rawSend(fd, buffer, address): buffer");
  std::string address = StringArg(info, 2, "rawSend(fd, buffer, address): address");
  int family = SocketFamily(static_cast<int>(fd));
  if (family < 0) throw ErrnoError(env, -family, "rawSend getsockname");
  sockaddr_storage ss;
  socklen_t len;
  if (!ToSockaddr(family, address, &ss, &len)) throw ArgError(env, "rawSend: bad address " + address, false);
  ssize_t n = sendto(static_cast<int>(fd), buffer.Data(), buffer.Length(), 0, reinterpret_cast<sockaddr *>(&ss), len);
  if (n < 0) throw ErrnoError(env, errno, "rawSend");
  return Napi::Number::New(env, static_cast<double>(n));
}

/** rawShutdown(fd): a pending rawRecv returns at once. */
Napi::Value RawShutdown(const Napi::CallbackInfo &info) {
  uint32_t fd = Uint32Arg(info, 0, "rawShutdown(fd): fd");
  shutdown(static_cast<int>(fd), SHUT_RDWR);  // ENOTCONN on a raw socket, but readers are woken
  return info.Env().Undefined();
}

}  // namespace

/** Registers rawOpen, rawRecv, rawSend and rawShutdown. */
void InitRaw(Napi::Env env, Napi::Object exports) {
  exports.Set("rawOpen", Napi::Function::New(env, RawOpen, "rawOpen"));
  exports.Set("rawRecv", Napi::Function::New(env, RawRecv, "rawRecv"));
  exports.Set("rawSend", Napi::Function::New(env, RawSend, "rawSend"));
  exports.Set("rawShutdown", Napi::Function::New(env, RawShutdown, "rawShutdown"));
}

}  // namespace overlayd
