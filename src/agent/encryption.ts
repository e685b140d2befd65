/**
 * The agent's part in encrypted networks, beside the data path's SAs:
 *
 *   - the ring a network entry carries, as the data path takes it;
 *   - where an outbound SA's sequence numbers start, so a restarted agent
 *     never reuses a nonce under a key it used before (checkpoints in the
 *     state directory, plus a clock floor for a lost state directory);
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
    const saved = this.last.get(idKey(id));
    const fromCheckpoint = saved === undefined ? 0 : saved + (esn ? ESN_MARGIN : NO_ESN_MARGIN);
    if (!esn) return Math.min(fromCheckpoint, NO_ESN_REKEY_AT);
    const floor = keyCreated === undefined ? 0 : Math.max(0, Math.floor((this.now() - keyCreated) / 1000)) * MAX_SA_RATE;
    return Math.max(fromCheckpoint, floor);
  }

  /** Notes what the data path's outbound SAs have used; call every CHECKPOINT_INTERVAL_MS, then `save`. */
  record(sas: SaInfo[]): void {
    const next = new Map<string, number>();
    for (const sa of sas) {
      if (sa.direction !== 'out') continue;
      const k = idKey(sa);
      const v = Math.max(sa.seq, this.last.get(k) ?? 0);
      next.set(k, v);
      if (this.last.get(k) !== v) this.dirty = true;
    }
    // SAs gone from the data path (key rotated out) no longer need a checkpoint.
    if (next.size !== this.last.size) this.dirty = true;
    this.last = next;
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

const idKey = (id: SaIdentity): string => `${id.vni}/${id.peer}/${id.keyTag}`;

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
