/**
 * The keys of an encrypted network as the cluster replicates them: part of
 * the network entry, so they travel only where entries travel — inside the
 * cluster's encrypted gossip (an encrypted network cannot be created on a
 * cluster whose gossip is plaintext).
 *
 * The ring holds at most three keys, oldest first, one of them sending:
 *
 *     created:   [k1*, k2]          k2 is distributed now, sent with later
 *     rotate:    [k1, k2*, k3]      k2 was everywhere a whole period already
 *     rotate:    [k2, k3*, k4]      k1 goes; k2 still received (packets in flight)
 *
 * A rotation only promotes a key that was distributed one step earlier, so
 * every node accepts a key before any node sends with it; two nodes that
 * rotate at once promote the same key and differ only in the fresh one,
 * which nobody sends with yet, so last-writer-wins between them is harmless.
 */
import { randomBytes, randomInt } from 'node:crypto';

/** How ESP travels: IP protocol 50, or ESP-in-UDP (RFC 3948). */
export type EspCarrierName = 'ip' | 'udp';

/** One key of the ring. */
export interface NetworkKeyEntry {
  /** 32-bit name of the key (in SA derivation and in `overlayctl keys`). */
  tag: number;
  /** 32 random bytes, base64. */
  material: string;
  /** Wall-clock time (ms) the key was made. */
  created: number;
}

/** How an encrypted network protects its traffic, and its key ring. */
export interface NetworkEncryptionEntry {
  carrier: EspCarrierName;
  /** AES key bytes: 16 or 32. */
  keySize: 16 | 32;
  /** 64-bit extended sequence numbers (RFC 4304). */
  esn: boolean;
  /** Oldest first, at most {@link RING_SIZE}. */
  keys: NetworkKeyEntry[];
  sendTag: number;
}

/** Keys in a ring. */
export const RING_SIZE = 3;
const KEY_BYTES = 32;

/** Options of a new encrypted network. */
export interface EncryptionRequest {
  carrier?: EspCarrierName;
  keySize?: 16 | 32;
  esn?: boolean;
}

function freshKey(taken: NetworkKeyEntry[], now: number): NetworkKeyEntry {
  let tag: number;
  do tag = randomInt(1, 0xffffffff);
  while (taken.some((k) => k.tag === tag));
  return { tag, material: randomBytes(KEY_BYTES).toString('base64'), created: now };
}

/** A new network's encryption: a sending key and the next one, distributed ahead. */
export function newEncryption(req: EncryptionRequest, now: number): NetworkEncryptionEntry {
  const first = freshKey([], now);
  const next = freshKey([first], now);
  return { carrier: req.carrier ?? 'ip', keySize: req.keySize ?? 16, esn: req.esn ?? true, keys: [first, next], sendTag: first.tag };
}

/** The key installed after the sending key (the one the next rotation promotes), if any. */
export function pendingKey(enc: NetworkEncryptionEntry): NetworkKeyEntry | undefined {
  const i = enc.keys.findIndex((k) => k.tag === enc.sendTag);
  return i >= 0 ? enc.keys[i + 1] : undefined;
}

/** The sending key. */
export function sendingKey(enc: NetworkEncryptionEntry): NetworkKeyEntry {
  return enc.keys.find((k) => k.tag === enc.sendTag)!;
}

/**
 * One rotation step: the pending key sends, a fresh key is distributed, the
 * old sending key is still received, older keys go.
 */
export function rotated(enc: NetworkEncryptionEntry, now: number): NetworkEncryptionEntry {
  const i = enc.keys.findIndex((k) => k.tag === enc.sendTag);
  const pending = enc.keys[i + 1];
  if (pending === undefined) {
    // No key distributed ahead (cannot happen for rings made here): distribute one, keep sending.
    const keys = [...enc.keys, freshKey(enc.keys, now)].slice(-RING_SIZE);
    return { ...enc, keys };
  }
  const keys = [enc.keys[i], pending, freshKey(enc.keys, now)];
  return { ...enc, keys, sendTag: pending.tag };
}

const isUint = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;

/** Shape check of a gossiped encryption field. */
export function wellFormedEncryption(x: unknown): x is NetworkEncryptionEntry {
  const e = x as Record<string, unknown>;
  if (typeof e !== 'object' || e === null) return false;
  if (e.carrier !== 'ip' && e.carrier !== 'udp') return false;
  if (e.keySize !== 16 && e.keySize !== 32) return false;
  if (typeof e.esn !== 'boolean' || !isUint(e.sendTag, 0xffffffff)) return false;
  if (!Array.isArray(e.keys) || e.keys.length < 1 || e.keys.length > RING_SIZE) return false;
  const tags = new Set<number>();
  for (const k of e.keys as Record<string, unknown>[]) {
    if (typeof k !== 'object' || k === null || !isUint(k.tag, 0xffffffff) || !isUint(k.created, Number.MAX_SAFE_INTEGER)) return false;
    if (typeof k.material !== 'string' || k.material.length > 96) return false;
    const bytes = Buffer.from(k.material, 'base64');
    if (bytes.length < 16 || bytes.toString('base64') !== k.material) return false;
    tags.add(k.tag);
  }
  return tags.size === e.keys.length && tags.has(e.sendTag);
}
