/*
 * ESP with AES-GCM (RFC 4303 + RFC 4106), 64-bit extended sequence numbers
 * (RFC 4304), transport mode — the C twin of src/crypto/esp.ts, byte for byte
 * and drop reason for drop reason:
 *
 *     seal:  SPI | seq lo | IV = seq (8 bytes BE) | AES-GCM(payload | 1,2,3… | pad len | nh) | ICV 16
 *            nonce = salt ‖ IV        AAD = SPI ‖ seq hi ‖ seq lo (ESN) or SPI ‖ seq lo
 *     open:  length → SPI → replay window (infer seq hi, reject old/duplicate)
 *            → decrypt + verify ICV (retry with the IV's number: resync)
 *            → accept into the window → check padding
 *
 * Threads: an esp_sa is immutable after esp_sa_init() and may be shared.
 * Each thread that seals or opens on an SA owns an esp_ctx for it (two
 * EVP_CIPHER_CTX with the key schedule done once); a replay_window belongs to
 * one thread at a time. Nothing allocates per packet.
 *
 * OpenSSL: Node's own copy, through its headers and exported symbols (the
 * addon does not link libcrypto).
 */
#ifndef OVERLAYD_ESP_H
#define OVERLAYD_ESP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "esp/replay.h"

/** SPI + low sequence half. */
#define ESP_HEADER_LEN 8u
/** Explicit IV of AES-GCM (RFC 4106 §3.1). */
#define ESP_IV_LEN 8u
/** Bytes before the ciphertext: header + IV. Seal in place by leaving this much headroom. */
#define ESP_PREFIX_LEN (ESP_HEADER_LEN + ESP_IV_LEN)
/** Full-length ICV. */
#define ESP_ICV_LEN 16u
/** Pad length + next header. */
#define ESP_TRAILER_LEN 2u
/** Smallest packet esp_open() accepts: empty payload, no padding (34). */
#define ESP_MIN_LEN (ESP_PREFIX_LEN + ESP_TRAILER_LEN + ESP_ICV_LEN)
/** RFC 4106 salt: the implicit first 4 bytes of the nonce. */
#define ESP_SALT_LEN 4u
/** Largest payload esp_seal() takes (the ciphertext length must fit an int for EVP). */
#define ESP_MAX_PAYLOAD (1u << 20)
/** Longest packet esp_open() decrypts; a longer one (no UDP datagram is) is dropped as esp_bad_icv. */
#define ESP_MAX_PACKET (1u << 24)
/** Next header of overlayd's protected payload: UDP carrying VXLAN. */
#define ESP_NEXT_HEADER_UDP 17u

/**
 * Why esp_open() dropped a packet: -(index + 1) of ESP_DROP_REASONS in
 * src/crypto/esp.ts, so both sides name drops alike.
 */
enum esp_drop {
  ESP_DROP_TRUNCATED = -1,
  ESP_DROP_BAD_SPI = -2,
  ESP_DROP_REPLAY = -3,
  ESP_DROP_BAD_ICV = -4,
  ESP_DROP_BAD_PADDING = -5,
  ESP_DROP_TOO_OLD = -6,
};
/** Number of esp_drop reasons. */
#define ESP_DROP_COUNT 6

/** Why esp_seal() or an init refused its arguments. */
enum esp_error {
  /** Sequence number 0, above 2^53 − 1 (REPLAY_MAX_SEQ), or above 2^32 − 1 without ESN. */
  ESP_ERR_SEQUENCE = -16,
  /** Key, salt or SPI impossible; payload longer than ESP_MAX_PAYLOAD. */
  ESP_ERR_ARGUMENT = -17,
  /** The output buffer is smaller than esp_sealed_len(). */
  ESP_ERR_SPACE = -18,
  /** OpenSSL refused (allocation, cipher set-up). */
  ESP_ERR_CRYPTO = -19,
};

/** One direction of protected traffic: SPI, AES-GCM key, salt, ESN. Immutable once initialised. */
typedef struct esp_sa {
  uint32_t spi;
  /** 1: 64-bit extended sequence numbers (AAD carries the high half). */
  int esn;
  /** 16 or 32. */
  size_t key_len;
  uint8_t key[32];
  uint8_t salt[ESP_SALT_LEN];
  const EVP_CIPHER *cipher;
} esp_sa;

/** What esp_open() learnt about an accepted packet. */
typedef struct esp_opened {
  /** The full 64-bit sequence number the packet authenticated with. */
  uint64_t seq;
  /** The trailer's next header (17 for overlayd; 59 marks a dummy packet). */
  uint8_t next_header;
} esp_opened;

/** One thread's keyed cipher contexts for one SA. */
typedef struct esp_ctx {
  const esp_sa *sa;
  EVP_CIPHER_CTX *seal;
  EVP_CIPHER_CTX *open;
} esp_ctx;

/**
 * Fills `sa`: `spi` non-zero, `key_len` 16 or 32, 4 bytes of `salt`.
 * Returns 0 or ESP_ERR_ARGUMENT.
 */
int esp_sa_init(esp_sa *sa, uint32_t spi, const uint8_t *key, size_t key_len, const uint8_t *salt, int esn);

/** Wipes the key material. */
void esp_sa_clear(esp_sa *sa);

/**
 * Creates the calling thread's cipher contexts for `sa` (which must outlive
 * them) and runs the key schedule once. Returns 0 or ESP_ERR_CRYPTO.
 */
int esp_ctx_init(esp_ctx *ctx, const esp_sa *sa);

/** Frees the contexts (safe on a zeroed or already freed esp_ctx). */
void esp_ctx_free(esp_ctx *ctx);

/** Padding bytes that align payload + trailer to 4 (0..3). */
size_t esp_pad_len(size_t payload_len);

/** Length of the packet esp_seal() makes from `payload_len` bytes. */
size_t esp_sealed_len(size_t payload_len);

/**
 * Encrypts `payload_len` bytes at `payload` with sequence number `seq`
 * (1..REPLAY_MAX_SEQ, never reused under the SA; ≤ 2^32 − 1 without ESN) into `out`
 * (capacity `out_cap` ≥ esp_sealed_len()). In place when payload ==
 * out + ESP_PREFIX_LEN (no copy); otherwise the payload is moved there first
 * (overlap allowed). Returns the packet length or an esp_error.
 */
long esp_seal(esp_ctx *ctx, uint64_t seq, const uint8_t *payload, size_t payload_len, uint8_t next_header, uint8_t *out,
              size_t out_cap);

/**
 * Authenticates and decrypts the ESP packet `packet[0, len)` (SPI to ICV),
 * checking and then updating `window`. The payload is written to `out`,
 * which needs len − ESP_MIN_LEN + ESP_TRAILER_LEN bytes and is either
 * packet + ESP_PREFIX_LEN (in place) or disjoint from the packet. In place,
 * a dropped packet's ciphertext may be left overwritten.
 *
 * The high half of the sequence number comes from the window; when that does
 * not authenticate and the IV holds another 64-bit number with the same low
 * half, that number is tried too if the window allows it (resynchronises a
 * receiver whose window restarted past 2^32 packets). The window moves only
 * after the ICV verified, even if the padding then turns out malformed.
 *
 * Returns the payload length (≥ 0, with *info filled) or an esp_drop reason.
 */
long esp_open(esp_ctx *ctx, replay_window *window, const uint8_t *packet, size_t len, uint8_t *out, esp_opened *info);

/** Stable name of an esp_drop reason (`esp_bad_icv`, …), NULL for another value. */
const char *esp_drop_name(long reason);

#endif
