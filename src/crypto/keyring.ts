/**
 * The data-plane keyring of one encrypted network: up to three keys, all
 * accepted on receive, one of them used to send.
 *
 * Hitless rotation rests on one ordering rule: every node installs a key for
 * receive before any node sends with it. A rotation step therefore installs a
 * fresh key for receive only and switches the sender to the key installed one
 * step earlier — which every node has had for a whole rotation period — and
 * only then drops the oldest key:
 *
 *     [a, b*, c]  --rotate(d)-->  [b, c*, d]          (* = sending key)
 *
 * Every mutation returns a {@link KeyringChange} listing what to do in that
 * order (install SAs for new keys, switch the sending SA, remove old SAs), so
 * the data path can follow the same rule. Nodes apply the cluster's ring with
 * {@link NetworkKeyring.apply}, which keeps the order too.
 */
import { checkNetworkKey, type NetworkKey } from './derive.js';
import { CryptoError } from './errors.js';

/** Keys in a ring: one sends, all receive (Docker's three). */
export const KEYRING_CAPACITY = 3;

/** A key in the ring and when this node installed it. */
export interface KeyringEntry {
  readonly key: NetworkKey;
  /** Clock time (ms) of installation on this node. */
  readonly installedAt: number;
}

/** What a keyring mutation did, in the order the data path must follow. */
export interface KeyringChange {
  /** 1. Keys newly accepted for receive. */
  installed: NetworkKey[];
  /** 2. The sending key after the change (undefined: none yet). */
  sendTag: number | undefined;
  /** True when the sending key changed. */
  sendChanged: boolean;
  /** 3. Keys no longer accepted (their SAs can go). */
  removed: NetworkKey[];
}

/** The state a cluster distributes for a network: the ring (oldest first) and the sending key. */
export interface KeyringState {
  keys: NetworkKey[];
  sendTag: number;
}

/** Options of a {@link NetworkKeyring}. */
export interface NetworkKeyringOptions {
  /** Clock for installation times and ages (ms); `Date.now` by default. */
  clock?: () => number;
  /** Most keys held (default 3). */
  capacity?: number;
}

const sameMaterial = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/** Up to three network keys: all receive, one sends. */
export class NetworkKeyring {
  private readonly entries: KeyringEntry[] = [];
  private sending: number | undefined;
  private readonly clock: () => number;
  private readonly capacity: number;

  /** @throws CryptoError BAD_ARGUMENT for a capacity below 2 */
  constructor(opts: NetworkKeyringOptions = {}) {
    this.clock = opts.clock ?? Date.now;
    this.capacity = opts.capacity ?? KEYRING_CAPACITY;
    if (!Number.isInteger(this.capacity) || this.capacity < 2) throw new CryptoError('BAD_ARGUMENT', `keyring capacity ${this.capacity}: need ≥ 2`);
  }

  /** The sending key, if any. */
  get sendKey(): NetworkKey | undefined {
    return this.sending === undefined ? undefined : this.find(this.sending)?.key;
  }

  /** Tag of the sending key, if any. */
  get sendTag(): number | undefined {
    return this.sending;
  }

  /** All keys accepted on receive, oldest installation first. */
  receiveKeys(): NetworkKey[] {
    return this.entries.map((e) => e.key);
  }

  /** The entry for `tag`, if installed. */
  find(tag: number): KeyringEntry | undefined {
    return this.entries.find((e) => e.key.tag === tag);
  }

  /** Milliseconds since `tag` was installed here, or undefined when it is not. */
  age(tag: number, now: number = this.clock()): number | undefined {
    const e = this.find(tag);
    return e === undefined ? undefined : now - e.installedAt;
  }

  /** The ring as the cluster would distribute it (undefined before a sending key exists). */
  state(): KeyringState | undefined {
    return this.sending === undefined ? undefined : { keys: this.receiveKeys(), sendTag: this.sending };
  }

  /**
   * Accepts `key` for receive (never for sending). Installing a tag already
   * held with the same material changes nothing. When the ring is full the
   * oldest key that is not the sending key is removed.
   * @throws CryptoError BAD_KEY (bad key), KEY_IN_USE (tag held with other material)
   */
  install(key: NetworkKey): KeyringChange {
    const change = this.emptyChange();
    this.add(key, change);
    this.prune(change);
    return change;
  }

  /**
   * Makes the installed key `tag` the sending key. The caller is responsible
   * for the ordering rule (use {@link rotate} or {@link apply} to get it for free).
   * @throws CryptoError KEY_NOT_INSTALLED
   */
  use(tag: number): KeyringChange {
    const change = this.emptyChange();
    this.switchTo(tag, change);
    return change;
  }

  /**
   * Stops accepting `tag` (`removed` lists it when it was held).
   * @throws CryptoError KEY_IN_USE when `tag` is the sending key
   */
  remove(tag: number): KeyringChange {
    if (tag === this.sending) throw new CryptoError('KEY_IN_USE', `key ${tag} is the sending key`);
    const change = this.emptyChange();
    const i = this.entries.findIndex((e) => e.key.tag === tag);
    if (i >= 0) change.removed.push(...this.entries.splice(i, 1).map((e) => e.key));
    return change;
  }

  /**
   * One rotation step: install `fresh` for receive, switch the sender to the
   * newest key installed before it (the first key when the ring was empty),
   * then drop the oldest keys beyond capacity. With `minAgeMs`, a candidate
   * installed more recently than that is not promoted yet (the step only
   * installs): a guard for on-demand rotations in quick succession.
   * @throws CryptoError BAD_KEY, KEY_IN_USE (as install)
   */
  rotate(fresh: NetworkKey, opts: { minAgeMs?: number } = {}): KeyringChange {
    const change = this.emptyChange();
    const candidate = this.entries.length > 0 ? this.entries[this.entries.length - 1] : undefined;
    this.add(fresh, change);
    const promote = candidate ?? this.entries[this.entries.length - 1];
    const oldEnough = candidate === undefined || this.clock() - candidate.installedAt >= (opts.minAgeMs ?? 0);
    if (promote !== undefined && promote.key.tag !== this.sending && oldEnough) this.switchTo(promote.key.tag, change);
    this.prune(change);
    return change;
  }

  /**
   * Makes the ring equal to a distributed `state`, in the safe order: install
   * the keys this node lacks, then switch the sender, then remove the keys
   * the state no longer lists.
   * @throws CryptoError BAD_KEY, KEY_IN_USE, BAD_ARGUMENT (state whose sendTag is not among its keys, or too many keys)
   */
  apply(state: KeyringState): KeyringChange {
    if (!state.keys.some((k) => k.tag === state.sendTag)) throw new CryptoError('BAD_ARGUMENT', `send key ${state.sendTag} is not in the ring`);
    if (state.keys.length > this.capacity) throw new CryptoError('BAD_ARGUMENT', `${state.keys.length} keys exceed the capacity ${this.capacity}`);
    const change = this.emptyChange();
    for (const key of state.keys) this.add(key, change);
    this.switchTo(state.sendTag, change);
    const wanted = new Set(state.keys.map((k) => k.tag));
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (!wanted.has(this.entries[i].key.tag)) change.removed.unshift(...this.entries.splice(i, 1).map((e) => e.key));
    }
    return change;
  }

  private emptyChange(): KeyringChange {
    return { installed: [], sendTag: this.sending, sendChanged: false, removed: [] };
  }

  private add(key: NetworkKey, change: KeyringChange): void {
    checkNetworkKey(key);
    const existing = this.find(key.tag);
    if (existing !== undefined) {
      if (!sameMaterial(existing.key.material, key.material)) throw new CryptoError('KEY_IN_USE', `key tag ${key.tag} is installed with other material`);
      return;
    }
    const copy: NetworkKey = { tag: key.tag, material: Buffer.from(key.material) };
    this.entries.push({ key: copy, installedAt: this.clock() });
    change.installed.push(copy);
  }

  private switchTo(tag: number, change: KeyringChange): void {
    if (this.find(tag) === undefined) throw new CryptoError('KEY_NOT_INSTALLED', `key ${tag} is not installed`);
    if (tag !== this.sending) {
      this.sending = tag;
      change.sendChanged = true;
    }
    change.sendTag = tag;
  }

  private prune(change: KeyringChange): void {
    while (this.entries.length > this.capacity) {
      const i = this.entries.findIndex((e) => e.key.tag !== this.sending);
      change.removed.push(...this.entries.splice(i, 1).map((e) => e.key));
    }
  }
}
