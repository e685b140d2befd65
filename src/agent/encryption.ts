/**
 * The agent's part in encrypted networks, beside the data path's SAs:
 *
 *   - the ring a network entry carries, as the data path takes it;
 *   - where an outbound SA's sequence numbers start, so a restarted agent
 *     never reuses a nonce under a key it used before (checkpoints in the
 *     state directory, plus a clock floor for a lost state directory), and
 *     where an inbound SA's replay window starts, so a restarted agent does
 *     not accept again what it accepted before;
 *   - when a ring is due for rotation, and which node rotates it.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyringState } from '../crypto/index.js';
import type { NetworkEncryptionEntry } from '../cluster/network-keys.js';
import type { SaIdentity, SaInfo } from '../dataplane/datapath.js';

/** The ring of a network entry as the data path takes it. */
export function keyringOf(enc: NetworkEncryptionEntry): KeyringState {
  return { keys: enc.keys.map((k) => ({ tag: k.tag, material: Buffer.from(k.material, 'base64') })), sendTag: enc.sendTag };
}

/** A short text naming a ring's keys and sender: equal texts, equal rings. */
export const ringSignature = (enc: NetworkEncryptionEntry): string => `${enc.keys.map((k) => k.tag).join(',')}>${enc.sendTag}`;

/** How often outbound sequence numbers are checkpointed. */
export const CHECKPOINT_INTERVAL_MS = 5_000;
/**
 * The fastest one outbound SA is assumed to send: 2^24 packets/s (16.8 Mpps,
 * far above what one core seals). A restart skips what that rate could have
 * sent since the last checkpoint, twice over.
 */
export const MAX_SA_RATE = 2 ** 24;
const ESN_MARGIN = MAX_SA_RATE * ((2 * CHECKPOINT_INTERVAL_MS) / 1000);
/** Without ESN the space is 2^32: assume at most 2^20 packets/s there (the rekey comes at 2^31). */
const NO_ESN_MARGIN = 2 ** 20 * ((2 * CHECKPOINT_INTERVAL_MS) / 1000);
/** A 32-bit SA asks for a new key past this sequence number. */
export const NO_ESN_REKEY_AT = 2 ** 31;
/** A 64-bit SA asks for a new key past this one (years at line rate; a guard, not a schedule). */
export const ESN_REKEY_AT = 2 ** 48;

const FILE = 'esp-sequences.json';

/**
 * Outbound sequence checkpoints, one file in the state directory replaced
 * atomically. A new outbound SA starts above both its checkpoint plus the
 * margin and — with ESN — a clock floor: MAX_SA_RATE × seconds since its key
 * was made, which no sender can have reached, so even an agent that lost its
 * state directory does not reuse a nonce under a key still in the ring.
 * Inbound SAs are checkpointed too: a new one's replay window starts at the
 * top it had reached.
 */
export class SequenceCheckpoints {
  private readonly path: string;
  private last = new Map<string, number>();
  private dirty = false;

  constructor(
    stateDir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.path = join(stateDir, FILE);
    try {
      const doc = JSON.parse(readFileSync(this.path, 'utf8')) as { sequences?: Record<string, unknown> };
      for (const [k, v] of Object.entries(doc.sequences ?? {})) if (Number.isSafeInteger(v)) this.last.set(k, v as number);
    } catch {
      // No file (first start) or a damaged one: the clock floor still holds for ESN SAs.
    }
  }

  /** The last sequence number to assume used by a new outbound SA (its first packet is this + 1). */
  start(id: SaIdentity, keyCreated: number | undefined, esn: boolean): number {
    const saved = this.last.get(idKey('out', id));
    const fromCheckpoint = saved === undefined ? 0 : saved + (esn ? ESN_MARGIN : NO_ESN_MARGIN);
    if (!esn) return Math.min(fromCheckpoint, NO_ESN_REKEY_AT);
    const floor = keyCreated === undefined ? 0 : Math.max(0, Math.floor((this.now() - keyCreated) / 1000)) * MAX_SA_RATE;
    return Math.max(fromCheckpoint, floor);
  }

  /**
   * Where a new inbound SA's replay window starts: the highest number it had
   * accepted at the last checkpoint. What arrived in the few seconds after
   * that checkpoint could be replayed once to a restarted receiver; nothing older.
   */
  windowStart(id: SaIdentity): number {
    return this.last.get(idKey('in', id)) ?? 0;
  }

  /**
   * Notes what the data path's SAs have used (outbound) and accepted
   * (inbound); call every CHECKPOINT_INTERVAL_MS, then `save`. Checkpoints
   * of SAs the path no longer holds (a peer that is down) are kept while
   * their key is among `liveKeyTags`, so the SA resumes from them.
   */
  record(sas: SaInfo[], liveKeyTags: ReadonlySet<number>): void {
    for (const [k] of this.last) {
      if (liveKeyTags.has(Number(k.slice(k.lastIndexOf('/') + 1)))) continue;
      this.last.delete(k); // the key left every ring: its SAs never come back
      this.dirty = true;
    }
    for (const sa of sas) {
      const k = idKey(sa.direction, sa);
      const v = Math.max(sa.seq, this.last.get(k) ?? 0);
      if (this.last.get(k) === v) continue;
      this.last.set(k, v);
      this.dirty = true;
    }
  }

  /** Writes the checkpoints if they changed (write, fsync, rename). */
  save(): void {
    if (!this.dirty) return;
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: 1, sequences: Object.fromEntries(this.last) }), { mode: 0o600 });
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.path);
    this.dirty = false;
  }
}

const idKey = (direction: 'in' | 'out', id: SaIdentity): string => `${direction}/${id.vni}/${id.peer}/${id.keyTag}`;

/** Whether the sending key of `enc` is older than `intervalMs`. */
export function rotationDue(enc: NetworkEncryptionEntry, intervalMs: number, now: number): boolean {
  const sending = enc.keys.find((k) => k.tag === enc.sendTag);
  return sending !== undefined && now - sending.created >= intervalMs;
}

/**
 * The node that rotates a network on schedule: its creator while that node
 * is alive, else the first alive candidate by name. A second rotator (two
 * views of who is alive) is harmless: both promote the same key.
 */
export function scheduledRotator(owner: string, candidates: string[], alive: (node: string) => boolean): string | undefined {
  if (alive(owner)) return owner;
  return candidates.filter(alive).sort()[0];
}
