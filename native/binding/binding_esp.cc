/*
 * EspSaHandle: a test and benchmark face of the C ESP core (esp.c, replay.c)
 * — one SA with its own cipher contexts and inbound replay window, used from
 * the JavaScript thread. src/dataplane/native-esp.ts wraps it with the same
 * argument checks and drop names as src/crypto/esp.ts. The data path itself
 * calls esp_seal()/esp_open() from its workers, not through this file.
 */
#include <napi.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "binding/binding_util.h"

extern "C" {
#include "esp/esp.h"
#include "esp/replay.h"
}

namespace overlayd {
namespace {

/** A sequence number argument: an integer in 0..2^53−1 (the C core refuses 0 itself). */
uint64_t SeqArg(const Napi::CallbackInfo &info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) throw ArgError(info.Env(), "seq must be a number");
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0 && v <= 9007199254740991.0) || std::floor(v) != v)
    throw ArgError(info.Env(), "seq must be an integer in 0..2^53-1", false);
  return static_cast<uint64_t>(v);
}

uint8_t NextHeaderArg(const Napi::CallbackInfo &info, size_t i) {
  uint32_t v = Uint32Arg(info, i, "nextHeader");
  if (v > 0xff) throw ArgError(info.Env(), "nextHeader must be 0..255", false);
  return static_cast<uint8_t>(v);
}

Napi::Error SealError(Napi::Env env, long rc) {
  const char *what = rc == ESP_ERR_SEQUENCE ? "sequence number out of range"
                     : rc == ESP_ERR_SPACE  ? "output buffer too small"
                     : rc == ESP_ERR_CRYPTO ? "OpenSSL refused"
                                            : "payload too long";
  Napi::Error e = Napi::Error::New(env, std::string("esp_seal: ") + what);
  e.Set("code", Napi::String::New(env, rc == ESP_ERR_CRYPTO ? "ERR_ESP_CRYPTO" : "ERR_INVALID_ARG_VALUE"));
  return e;
}

class EspSaHandle : public Napi::ObjectWrap<EspSaHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "EspSaHandle",
                       {
                           InstanceMethod<&EspSaHandle::Seal>("seal"),
                           InstanceMethod<&EspSaHandle::SealInto>("sealInto"),
                           InstanceMethod<&EspSaHandle::Open>("open"),
                           InstanceMethod<&EspSaHandle::OpenInto>("openInto"),
                           InstanceMethod<&EspSaHandle::SealRepeat>("sealRepeat"),
                           InstanceMethod<&EspSaHandle::OpenRepeat>("openRepeat"),
                           InstanceMethod<&EspSaHandle::Verdict>("verdict"),
                           InstanceMethod<&EspSaHandle::ResetWindow>("resetWindow"),
                           InstanceAccessor<&EspSaHandle::WindowTop>("windowTop"),
                       });
  }

  /** new EspSaHandle(spi, key, salt, esn, windowSize). */
  explicit EspSaHandle(const Napi::CallbackInfo &info) : Napi::ObjectWrap<EspSaHandle>(info) {
    Napi::Env env = info.Env();
    uint32_t spi = Uint32Arg(info, 0, "spi");
    Napi::Buffer<uint8_t> key = BufferArg(info, 1, "key");
    Napi::Buffer<uint8_t> salt = BufferArg(info, 2, "salt");
    if (info.Length() <= 3 || !info[3].IsBoolean()) throw ArgError(env, "esn must be a boolean");
    bool esn = info[3].As<Napi::Boolean>().Value();
    uint32_t window_size = Uint32Arg(info, 4, "windowSize");
    if (salt.Length() != ESP_SALT_LEN) throw ArgError(env, "salt must be 4 bytes", false);
    if (esp_sa_init(&sa_, spi, key.Data(), key.Length(), salt.Data(), esn) < 0)
      throw ArgError(env, "spi must be non-zero and the key 16 or 32 bytes", false);
    if (replay_window_init(&window_, window_size) < 0)
      throw ArgError(env, "windowSize must be a multiple of 32 in 1024..131072", false);
    if (esp_ctx_init(&ctx_, &sa_) < 0) {
      replay_window_free(&window_);
      throw Napi::Error::New(env, "esp_ctx_init: OpenSSL refused");
    }
  }

  ~EspSaHandle() override {
    esp_ctx_free(&ctx_);
    replay_window_free(&window_);
    esp_sa_clear(&sa_);
  }

 private:
  esp_sa sa_{};
  esp_ctx ctx_{};
  replay_window window_{};
  std::vector<uint8_t> scratch_;

  uint8_t *Scratch(size_t len) {
    if (scratch_.size() < len) scratch_.resize(len);
    return scratch_.data();
  }

  /** seal(seq, payload, nextHeader) → a new Buffer with the ESP packet. */
  Napi::Value Seal(const Napi::CallbackInfo &info) {
    uint64_t seq = SeqArg(info, 0);
    Napi::Buffer<uint8_t> payload = BufferArg(info, 1, "payload");
    uint8_t nh = NextHeaderArg(info, 2);
    size_t cap = esp_sealed_len(payload.Length());
    Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(info.Env(), cap);
    long rc = esp_seal(&ctx_, seq, payload.Data(), payload.Length(), nh, out.Data(), cap);
    if (rc < 0) throw SealError(info.Env(), rc);
    return out;
  }

  /**
   * sealInto(seq, payload, nextHeader, out) → packet length written at the
   * start of `out`. In place (no copy) when payload starts 16 bytes into out.
   */
  Napi::Value SealInto(const Napi::CallbackInfo &info) {
    uint64_t seq = SeqArg(info, 0);
    Napi::Buffer<uint8_t> payload = BufferArg(info, 1, "payload");
    uint8_t nh = NextHeaderArg(info, 2);
    Napi::Buffer<uint8_t> out = BufferArg(info, 3, "out");
    long rc = esp_seal(&ctx_, seq, payload.Data(), payload.Length(), nh, out.Data(), out.Length());
    if (rc < 0) throw SealError(info.Env(), rc);
    return Napi::Number::New(info.Env(), static_cast<double>(rc));
  }

  /**
   * open(packet, inPlace) → { payload, nextHeader, seq } or a negative
   * esp_drop number. The packet is never modified: inPlace decrypts a copy
   * of it in place (the path a worker takes), otherwise into a separate buffer.
   */
  Napi::Value Open(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Buffer<uint8_t> packet = BufferArg(info, 0, "packet");
    bool in_place = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
    size_t len = packet.Length();
    uint8_t *buf = Scratch(len);
    const uint8_t *src = packet.Data();
    uint8_t *out = buf;
    if (in_place) {
      std::memcpy(buf, packet.Data(), len);
      src = buf;
      out = buf + ESP_PREFIX_LEN;
    }
    esp_opened opened{};
    long rc = esp_open(&ctx_, &window_, src, len, out, &opened);
    if (rc < 0) return Napi::Number::New(env, static_cast<double>(rc));
    Napi::Object result = Napi::Object::New(env);
    result.Set("payload", Napi::Buffer<uint8_t>::Copy(env, out, static_cast<size_t>(rc)));
    result.Set("nextHeader", Napi::Number::New(env, opened.next_header));
    result.Set("seq", Napi::Number::New(env, static_cast<double>(opened.seq)));
    return result;
  }

  /**
   * openInto(packet, out) → payload length written to `out`, or a negative
   * esp_drop number. In place when out starts 16 bytes into the packet.
   */
  Napi::Value OpenInto(const Napi::CallbackInfo &info) {
    Napi::Buffer<uint8_t> packet = BufferArg(info, 0, "packet");
    Napi::Buffer<uint8_t> out = BufferArg(info, 1, "out");
    size_t len = packet.Length();
    bool in_place = out.Data() == packet.Data() + ESP_PREFIX_LEN;
    if (len >= ESP_MIN_LEN && !in_place && out.Length() < len - ESP_PREFIX_LEN - ESP_ICV_LEN)
      throw ArgError(info.Env(), "out is smaller than the ciphertext", false);
    esp_opened opened{};
    long rc = esp_open(&ctx_, &window_, packet.Data(), len, out.Data(), &opened);
    return Napi::Number::New(info.Env(), static_cast<double>(rc));
  }

  /**
   * sealRepeat(firstSeq, buf, payloadLength, count) → seconds taken to seal
   * the payload at buf[16..] in place `count` times with numbers firstSeq…
   * (each round encrypts the previous round's ciphertext): the C core's cost
   * without a JavaScript call per packet, for the benchmark.
   */
  Napi::Value SealRepeat(const Napi::CallbackInfo &info) {
    uint64_t seq = SeqArg(info, 0);
    Napi::Buffer<uint8_t> buf = BufferArg(info, 1, "buf");
    uint32_t len = Uint32Arg(info, 2, "payloadLength");
    uint32_t count = Uint32Arg(info, 3, "count");
    if (buf.Length() < esp_sealed_len(len)) throw ArgError(info.Env(), "buf too small", false);
    auto start = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < count; i++) {
      long rc = esp_seal(&ctx_, seq + i, buf.Data() + ESP_PREFIX_LEN, len, ESP_NEXT_HEADER_UDP, buf.Data(), buf.Length());
      if (rc < 0) throw SealError(info.Env(), rc);
    }
    return Napi::Number::New(info.Env(), std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  /**
   * openRepeat(packet, count) → seconds taken to open `packet` into a separate
   * buffer `count` times, resetting the replay window before each (a few
   * dozen nanoseconds for a 1024-packet window): the C core's cost, for the benchmark.
   */
  Napi::Value OpenRepeat(const Napi::CallbackInfo &info) {
    Napi::Buffer<uint8_t> packet = BufferArg(info, 0, "packet");
    uint32_t count = Uint32Arg(info, 1, "count");
    uint8_t *out = Scratch(packet.Length());
    esp_opened opened{};
    auto start = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < count; i++) {
      replay_window_reset(&window_);
      if (esp_open(&ctx_, &window_, packet.Data(), packet.Length(), out, &opened) < 0)
        throw Napi::Error::New(info.Env(), "openRepeat: the packet does not open");
    }
    return Napi::Number::New(info.Env(), std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  /** verdict(seq) → 0 (acceptable), -1 (too old) or -2 (duplicate); changes nothing. */
  Napi::Value Verdict(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), replay_verdict(&window_, SeqArg(info, 0)));
  }

  Napi::Value ResetWindow(const Napi::CallbackInfo &info) {
    replay_window_reset(&window_);
    return info.Env().Undefined();
  }

  Napi::Value WindowTop(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), static_cast<double>(window_.top));
  }
};

}  // namespace

/** Registers EspSaHandle and espDropReasons (index i ↔ esp_drop −(i+1)) on `exports`. */
void InitEsp(Napi::Env env, Napi::Object exports) {
  exports.Set("EspSaHandle", EspSaHandle::Define(env));
  Napi::Array names = Napi::Array::New(env, ESP_DROP_COUNT);
  for (uint32_t i = 0; i < ESP_DROP_COUNT; i++) names.Set(i, Napi::String::New(env, esp_drop_name(-static_cast<long>(i) - 1)));
  exports.Set("espDropReasons", names);
}

}  // namespace overlayd
