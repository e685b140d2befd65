/*
 * RFC 6479 anti-replay window with 64-bit sequence numbers; see replay.h.
 * Mirrors src/crypto/replay-window.ts line for line.
 */
#include "esp/replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_BITS 32u

int replay_window_init(replay_window *w, uint32_t size) {
  memset(w, 0, sizeof *w);
  if (size < REPLAY_MIN_WINDOW || size > REPLAY_MAX_WINDOW || size % BLOCK_BITS != 0) return -EINVAL;
  w->nblocks = size / BLOCK_BITS + 1;
  w->blocks = calloc(w->nblocks, sizeof *w->blocks);
  if (!w->blocks) return -ENOMEM;
  w->size = size;
  return 0;
}

void replay_window_free(replay_window *w) {
  free(w->blocks);
  memset(w, 0, sizeof *w);
}

void replay_window_reset(replay_window *w) {
  memset(w->blocks, 0, (size_t)w->nblocks * sizeof *w->blocks);
  w->top = 0;
}

void replay_window_seed(replay_window *w, uint64_t top) {
  replay_window_reset(w);
  if (top == 0 || top > REPLAY_MAX_SEQ) return;
  memset(w->blocks, 0xff, (size_t)w->nblocks * sizeof *w->blocks);
  /* In the top's block only the numbers up to the top count as seen: those above are still to come. */
  uint32_t bit = (uint32_t)(top % BLOCK_BITS);
  w->blocks[(top / BLOCK_BITS) % w->nblocks] = bit == 31 ? UINT32_MAX : (UINT32_C(2) << bit) - 1;
  w->top = top;
}

int replay_infer(const replay_window *w, uint32_t lo, uint64_t *seq) {
  uint32_t tl = (uint32_t)w->top;
  uint64_t th = w->top >> 32;
  uint64_t hi;
  if (tl >= w->size - 1) {
    /* Case A: the window [tl - size + 1, tl] lies inside one 2^32 subspace. */
    uint32_t bottom = tl - (w->size - 1);
    hi = lo >= bottom ? th : th + 1;
    if (hi > UINT32_MAX) return 0;
  } else {
    /* Case B: the window straddles the subspace boundary below tl. */
    uint32_t bottom_wrapped = tl - (w->size - 1); /* bottom + 2^32, mod 2^32 */
    if (lo >= bottom_wrapped) {
      if (th == 0) return 0;
      hi = th - 1;
    } else {
      hi = th;
    }
  }
  *seq = hi << 32 | lo;
  return 1;
}

int replay_verdict(const replay_window *w, uint64_t seq) {
  if (seq == 0 || seq > REPLAY_MAX_SEQ) return REPLAY_TOO_OLD;
  if (seq > w->top) return REPLAY_OK;
  if (w->top - seq >= w->size) return REPLAY_TOO_OLD;
  uint32_t block = w->blocks[(seq / BLOCK_BITS) % w->nblocks];
  return (block >> (seq % BLOCK_BITS)) & 1u ? REPLAY_DUPLICATE : REPLAY_OK;
}

int replay_check(const replay_window *w, uint32_t lo, uint64_t *seq) {
  if (!replay_infer(w, lo, seq)) return REPLAY_TOO_OLD;
  return replay_verdict(w, *seq);
}

void replay_accept(replay_window *w, uint64_t seq) {
  if (seq == 0 || seq > REPLAY_MAX_SEQ) return;
  uint32_t n = w->nblocks;
  if (seq > w->top) {
    uint64_t from = w->top / BLOCK_BITS;
    uint64_t to = seq / BLOCK_BITS;
    if (to - from >= n) {
      memset(w->blocks, 0, (size_t)n * sizeof *w->blocks);
    } else {
      for (uint64_t b = from + 1; b <= to; b++) w->blocks[b % n] = 0;
    }
    w->top = seq;
  }
  w->blocks[(seq / BLOCK_BITS) % n] |= 1u << (seq % BLOCK_BITS);
}
