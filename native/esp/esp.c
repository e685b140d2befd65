/*
 * ESP seal/open with AES-GCM through OpenSSL EVP; see esp.h. Mirrors
 * src/crypto/esp.ts step for step (test/native/esp-differential.test.ts).
 *
 * Per packet each context is re-initialised with the nonce only (the key
 * schedule from esp_ctx_init() is kept), fed the AAD, and run in place.
 */
#include "esp/esp.h"

#include <string.h>

#include <openssl/crypto.h>

#define NONCE_LEN (ESP_SALT_LEN + ESP_IV_LEN)
#define AAD_MAX_LEN 12u

static const char *const drop_names[ESP_DROP_COUNT] = {
    "esp_truncated", "esp_bad_spi", "esp_replay", "esp_bad_icv", "esp_bad_padding", "esp_too_old",
};

static inline void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static inline uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/** Fills `aad` for `seq`: SPI ‖ hi ‖ lo with ESN, SPI ‖ lo without; returns its length. */
static int make_aad(const esp_sa *sa, uint64_t seq, uint8_t aad[AAD_MAX_LEN]) {
  put32(aad, sa->spi);
  if (!sa->esn) {
    put32(aad + 4, (uint32_t)seq);
    return 8;
  }
  put32(aad + 4, (uint32_t)(seq >> 32));
  put32(aad + 8, (uint32_t)seq);
  return 12;
}

int esp_sa_init(esp_sa *sa, uint32_t spi, const uint8_t *key, size_t key_len, const uint8_t *salt, int esn) {
  memset(sa, 0, sizeof *sa);
  if (spi == 0 || (key_len != 16 && key_len != 32) || !key || !salt) return ESP_ERR_ARGUMENT;
  sa->spi = spi;
  sa->esn = esn ? 1 : 0;
  sa->key_len = key_len;
  memcpy(sa->key, key, key_len);
  memcpy(sa->salt, salt, ESP_SALT_LEN);
  sa->cipher = key_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
  return 0;
}

void esp_sa_clear(esp_sa *sa) { OPENSSL_cleanse(sa, sizeof *sa); }

int esp_ctx_init(esp_ctx *ctx, const esp_sa *sa) {
  ctx->sa = sa;
  ctx->seal = EVP_CIPHER_CTX_new();
  ctx->open = EVP_CIPHER_CTX_new();
  /* The default GCM IV length is 12 = salt 4 + IV 8; the nonce comes per packet. */
  if (!ctx->seal || !ctx->open || EVP_EncryptInit_ex(ctx->seal, sa->cipher, NULL, sa->key, NULL) != 1 ||
      EVP_DecryptInit_ex(ctx->open, sa->cipher, NULL, sa->key, NULL) != 1) {
    esp_ctx_free(ctx);
    return ESP_ERR_CRYPTO;
  }
  return 0;
}

void esp_ctx_free(esp_ctx *ctx) {
  EVP_CIPHER_CTX_free(ctx->seal);
  EVP_CIPHER_CTX_free(ctx->open);
  ctx->seal = NULL;
  ctx->open = NULL;
}

size_t esp_pad_len(size_t payload_len) {
  size_t r = (payload_len + ESP_TRAILER_LEN) % 4;
  return r == 0 ? 0 : 4 - r;
}

size_t esp_sealed_len(size_t payload_len) {
  return ESP_PREFIX_LEN + payload_len + esp_pad_len(payload_len) + ESP_TRAILER_LEN + ESP_ICV_LEN;
}

const char *esp_drop_name(long reason) {
  return reason <= -1 && reason >= -ESP_DROP_COUNT ? drop_names[-reason - 1] : NULL;
}

long esp_seal(esp_ctx *ctx, uint64_t seq, const uint8_t *payload, size_t payload_len, uint8_t next_header, uint8_t *out,
              size_t out_cap) {
  const esp_sa *sa = ctx->sa;
  if (seq == 0 || seq > (sa->esn ? REPLAY_MAX_SEQ : UINT32_MAX)) return ESP_ERR_SEQUENCE;
  if (payload_len > ESP_MAX_PAYLOAD) return ESP_ERR_ARGUMENT;
  size_t total = esp_sealed_len(payload_len);
  if (out_cap < total) return ESP_ERR_SPACE;

  uint8_t *plain = out + ESP_PREFIX_LEN;
  if (payload != plain && payload_len) memmove(plain, payload, payload_len);
  put32(out, sa->spi);
  put32(out + 4, (uint32_t)seq);
  put32(out + ESP_HEADER_LEN, (uint32_t)(seq >> 32));
  put32(out + ESP_HEADER_LEN + 4, (uint32_t)seq);
  size_t pad = esp_pad_len(payload_len);
  uint8_t *trailer = plain + payload_len;
  for (size_t i = 0; i < pad; i++) trailer[i] = (uint8_t)(i + 1);
  trailer[pad] = (uint8_t)pad;
  trailer[pad + 1] = next_header;

  uint8_t nonce[NONCE_LEN];
  uint8_t aad[AAD_MAX_LEN];
  memcpy(nonce, sa->salt, ESP_SALT_LEN);
  memcpy(nonce + ESP_SALT_LEN, out + ESP_HEADER_LEN, ESP_IV_LEN);
  int aad_len = make_aad(sa, seq, aad);
  int plain_len = (int)(payload_len + pad + ESP_TRAILER_LEN);
  int n;
  EVP_CIPHER_CTX *c = ctx->seal;
  if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, nonce) != 1 || EVP_EncryptUpdate(c, NULL, &n, aad, aad_len) != 1 ||
      EVP_EncryptUpdate(c, plain, &n, plain, plain_len) != 1 || EVP_EncryptFinal_ex(c, plain + plain_len, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, ESP_ICV_LEN, plain + plain_len) != 1) {
    return ESP_ERR_CRYPTO;
  }
  return (long)total;
}

/**
 * Decrypts the ciphertext of `packet` into `out` with `seq` in the AAD and
 * verifies the ICV; 1 when authentic.
 */
static int decrypt(esp_ctx *ctx, const uint8_t *packet, size_t len, uint64_t seq, uint8_t *out) {
  if (len > ESP_MAX_PACKET) return 0; /* no sender makes one; EVP lengths are ints */
  uint8_t nonce[NONCE_LEN];
  uint8_t aad[AAD_MAX_LEN];
  uint8_t icv[ESP_ICV_LEN];
  memcpy(nonce, ctx->sa->salt, ESP_SALT_LEN);
  memcpy(nonce + ESP_SALT_LEN, packet + ESP_HEADER_LEN, ESP_IV_LEN);
  memcpy(icv, packet + len - ESP_ICV_LEN, ESP_ICV_LEN);
  int aad_len = make_aad(ctx->sa, seq, aad);
  int ct_len = (int)(len - ESP_PREFIX_LEN - ESP_ICV_LEN);
  int n;
  EVP_CIPHER_CTX *c = ctx->open;
  return EVP_DecryptInit_ex(c, NULL, NULL, NULL, nonce) == 1 && EVP_DecryptUpdate(c, NULL, &n, aad, aad_len) == 1 &&
         EVP_DecryptUpdate(c, out, &n, packet + ESP_PREFIX_LEN, ct_len) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, ESP_ICV_LEN, icv) == 1 && EVP_DecryptFinal_ex(c, out + ct_len, &n) == 1;
}

/**
 * After a failed in-place decryption `out` holds ciphertext ⊕ keystream; the
 * keystream depends on the nonce only, so running CTR over it again (GCM
 * encryption, tag ignored) gives the ciphertext back for the next attempt.
 */
static int restore_ciphertext(esp_ctx *ctx, const uint8_t *packet, size_t len, uint8_t *out) {
  uint8_t nonce[NONCE_LEN];
  memcpy(nonce, ctx->sa->salt, ESP_SALT_LEN);
  memcpy(nonce + ESP_SALT_LEN, packet + ESP_HEADER_LEN, ESP_IV_LEN);
  int n;
  EVP_CIPHER_CTX *c = ctx->seal;
  return EVP_EncryptInit_ex(c, NULL, NULL, NULL, nonce) == 1 &&
         EVP_EncryptUpdate(c, out, &n, out, (int)(len - ESP_PREFIX_LEN - ESP_ICV_LEN)) == 1;
}

/** The drop reason of a negative replay verdict. */
static long window_reason(int verdict) { return verdict == REPLAY_DUPLICATE ? ESP_DROP_REPLAY : ESP_DROP_TOO_OLD; }

/**
 * Length of the payload in the decrypted data `plain[0, len)`, or -1 when
 * the trailer is malformed (pad length past the start, padding not 1, 2, 3, …).
 */
static long payload_len_of(const uint8_t *plain, size_t len) {
  size_t pad = plain[len - 2];
  if (pad > len - ESP_TRAILER_LEN) return -1;
  size_t payload_len = len - ESP_TRAILER_LEN - pad;
  for (size_t i = 0; i < pad; i++)
    if (plain[payload_len + i] != i + 1) return -1;
  return (long)payload_len;
}

long esp_open(esp_ctx *ctx, replay_window *window, const uint8_t *packet, size_t len, uint8_t *out, esp_opened *info) {
  const esp_sa *sa = ctx->sa;
  if (len < ESP_MIN_LEN) return ESP_DROP_TRUNCATED;
  if (get32(packet) != sa->spi) return ESP_DROP_BAD_SPI;
  uint32_t lo = get32(packet + 4);
  int in_place = out == packet + ESP_PREFIX_LEN;

  uint64_t inferred = lo;
  int inferred_valid = 1;
  int verdict;
  if (sa->esn) {
    inferred_valid = replay_infer(window, lo, &inferred);
    verdict = inferred_valid ? replay_verdict(window, inferred) : REPLAY_TOO_OLD;
  } else {
    /* Without ESN the number on the wire is the whole sequence number. */
    verdict = replay_verdict(window, lo);
  }
  uint64_t seq = inferred;
  long reason = verdict == REPLAY_OK ? 0 : window_reason(verdict);
  int authentic = 0;
  int out_dirty = 0;
  if (verdict == REPLAY_OK) {
    authentic = decrypt(ctx, packet, len, seq, out);
    out_dirty = 1;
    if (!authentic) reason = ESP_DROP_BAD_ICV;
  }
  if (!authentic && sa->esn && get32(packet + ESP_HEADER_LEN + 4) == lo) {
    uint64_t from_iv = (uint64_t)get32(packet + ESP_HEADER_LEN) << 32 | lo;
    if (!inferred_valid || from_iv != inferred) {
      int iv_verdict = replay_verdict(window, from_iv);
      if (iv_verdict == REPLAY_OK) {
        if (in_place && out_dirty && !restore_ciphertext(ctx, packet, len, out)) return ESP_DROP_BAD_ICV;
        authentic = decrypt(ctx, packet, len, from_iv, out);
        seq = from_iv;
        if (!authentic) reason = ESP_DROP_BAD_ICV;
      } else {
        /* The IV names a number the window refuses: the likelier story for a
         * packet that failed under the window's reading (e.g. far behind). */
        reason = window_reason(iv_verdict);
      }
    }
  }
  if (!authentic) return reason ? reason : ESP_DROP_BAD_ICV;
  /* Authentic: the window moves even if the trailer turns out malformed (RFC 4303 §3.4.3). */
  replay_accept(window, seq);
  long payload_len = payload_len_of(out, len - ESP_PREFIX_LEN - ESP_ICV_LEN);
  if (payload_len < 0) return ESP_DROP_BAD_PADDING;
  info->seq = seq;
  info->next_header = out[len - ESP_PREFIX_LEN - ESP_ICV_LEN - 1];
  return payload_len;
}
