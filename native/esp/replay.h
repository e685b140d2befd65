/*
 * Anti-replay window for one inbound SA with 64-bit extended sequence
 * numbers (RFC 4303 §3.4.3 and appendix A, RFC 4304), stored as the RFC 6479
 * block bitmap: a ring of 32-bit blocks, one bit per sequence number, indexed
 * by seq / 32 mod blocks, with one spare block so the whole window of `size`
 * numbers below the top is always covered. Sliding forward clears only the
 * blocks the top moves into.
 *
 * Same size limits, inference and verdicts as src/crypto/replay-window.ts
 * (differentially tested by test/native/esp-differential.test.ts). Use:
 * replay_check() before decrypting, verify the ICV with the number it gives,
 * and only then replay_accept(): the window never moves for a forged packet.
 *
 * Not synchronised: one window belongs to one thread at a time (the caller
 * serialises check → decrypt → accept per inbound SA).
 */
#ifndef OVERLAYD_REPLAY_H
#define OVERLAYD_REPLAY_H

#include <stdint.h>

/** Smallest window (sequence numbers tracked below the top). */
#define REPLAY_MIN_WINDOW 1024u
/** Default window: wide enough for reordering across several worker queues. */
#define REPLAY_DEFAULT_WINDOW 4096u
/** Largest window (a 16 KiB bitmap). */
#define REPLAY_MAX_WINDOW 131072u

/**
 * Largest sequence number overlayd uses: 2^53 − 1, exact in a JavaScript
 * number (28 years at 10 Mpps; senders rekey long before). Larger numbers
 * are refused as REPLAY_TOO_OLD, as the TypeScript window does.
 */
#define REPLAY_MAX_SEQ ((UINT64_C(1) << 53) - 1)

/** Verdict: acceptable (new, or unseen inside the window). */
#define REPLAY_OK 0
/** Verdict: left of the window, or before sequence number 1. */
#define REPLAY_TOO_OLD (-1)
/** Verdict: inside the window and already accepted. */
#define REPLAY_DUPLICATE (-2)

/** One SA's window. Fields are read-only outside replay.c. */
typedef struct replay_window {
  /** Highest sequence number accepted so far; 0 before the first. */
  uint64_t top;
  /** Sequence numbers tracked at and below the top (a multiple of 32). */
  uint32_t size;
  /** Blocks in the ring: size / 32 + 1. */
  uint32_t nblocks;
  uint32_t *blocks;
} replay_window;

/**
 * Allocates the bitmap of a window of `size` numbers (a multiple of 32 in
 * REPLAY_MIN_WINDOW..REPLAY_MAX_WINDOW). Returns 0, -EINVAL or -ENOMEM.
 */
int replay_window_init(replay_window *w, uint32_t size);

/** Frees the bitmap (the struct may be initialised again). */
void replay_window_free(replay_window *w);

/** Forgets everything, as for a new SA. */
void replay_window_reset(replay_window *w);

/**
 * Starts the window at `top` as if every number up to it had been received
 * (a restarted receiver resuming from its checkpoint): only numbers above
 * `top` are accepted. 0 gives an empty window.
 */
void replay_window_seed(replay_window *w, uint64_t top);

/**
 * The 64-bit number a packet carrying low half `lo` most likely has
 * (RFC 4303 A2.2): the one within `size` below the top, or the nearest one
 * above it. Returns 1 and stores it in *seq, or 0 when that number lies
 * before the start (or past 2^64) — the TypeScript window's negative value.
 */
int replay_infer(const replay_window *w, uint32_t lo, uint64_t *seq);

/**
 * REPLAY_OK when `seq` may be accepted, else REPLAY_TOO_OLD (also for 0 and
 * numbers above REPLAY_MAX_SEQ) or REPLAY_DUPLICATE. Changes nothing.
 */
int replay_verdict(const replay_window *w, uint64_t seq);

/**
 * replay_infer() then replay_verdict(): REPLAY_OK with the number to
 * authenticate in *seq, or a negative verdict.
 */
int replay_check(const replay_window *w, uint32_t lo, uint64_t *seq);

/**
 * Records `seq` as received, sliding the window when it is above the top.
 * Call only after the packet authenticated, with a number replay_verdict()
 * allowed; 0 and numbers above REPLAY_MAX_SEQ are ignored.
 */
void replay_accept(replay_window *w, uint64_t seq);

#endif
