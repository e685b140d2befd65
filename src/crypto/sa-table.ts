/**
 * The SAs one host needs, kept in step with its peers and its networks'
 * keyrings: for every encrypted network (by VNI) and every peer VTEP, an
 * outbound SA under the network's sending key (with its sequence counter),
 * and inbound SAs under every key of the ring (each with its replay window).
 *
 *     seal(vni, peer, datagram)  → ESP packet (or undefined: no key / no peer)
 *     open(src, esp packet)      → { vni, peer, opened } | drop reason
 *
 * Inbound lookup is by (outer source address, SPI), so two senders that
 * happen to derive the same SPI toward this host do not collide. The VNI an
 * SA belongs to is returned with the payload: the caller must drop a
 * decrypted VXLAN packet whose VNI is not that network's — otherwise a
 * member of one encrypted network could inject into another with its own key.
 */
import { deriveSa, type NetworkKey } from './derive.js';
import { CryptoError } from './errors.js';
import { type EspDropReason, maxSequence, openEsp, type OpenedEsp, sealEsp } from './esp.js';
import type { KeyringState } from './keyring.js';
import { DEFAULT_REPLAY_WINDOW, ReplayWindow } from './replay-window.js';
import type { AesKeySize, SecurityAssociation } from './sa.js';
import { OutboundSequence, type OutboundSequenceOptions } from './sequence.js';

/** An outbound SA and its counter. */
export interface OutboundEntry {
  vni: number;
  peer: Buffer;
  sa: SecurityAssociation;
  sequence: OutboundSequence;
}

/** An inbound SA and its replay window. */
export interface InboundEntry {
  vni: number;
  peer: Buffer;
  sa: SecurityAssociation;
  window: ReplayWindow;
}

/** A packet {@link EspSaTable.open} accepted, with where it came from. */
export interface OpenedFrom {
  vni: number;
  peer: Buffer;
  opened: OpenedEsp;
}

/** Options of an {@link EspSaTable}. */
export interface EspSaTableOptions {
  /** This host's VTEP address (4 or 16 bytes). */
  local: Uint8Array;
  /** AES key size of every SA (default 16). */
  keySize?: AesKeySize;
  /** Replay window per inbound SA (default 4096). */
  windowSize?: number;
  /**
   * Counter options for a new outbound SA — where the caller plugs in
   * persisted starting points and reservations (see OutboundSequence).
   */
  sequenceOptions?: (sa: SecurityAssociation, vni: number, peer: Buffer) => OutboundSequenceOptions;
}

interface NetworkState {
  keys: NetworkKey[];
  sendTag: number;
}

const key = (vni: number, peer: Uint8Array): string => `${vni}/${Buffer.from(peer).toString('hex')}`;

/** All ESP SAs of one host. */
export class EspSaTable {
  private readonly local: Buffer;
  private readonly keySize: AesKeySize;
  private readonly windowSize: number;
  private readonly sequenceOptions: EspSaTableOptions['sequenceOptions'];
  private readonly peers = new Map<string, Buffer>();
  private readonly networks = new Map<number, NetworkState>();
  private readonly outboundByPeer = new Map<string, OutboundEntry>();
  /** SPI → inbound entries (usually one). */
  private readonly inboundBySpi = new Map<number, InboundEntry[]>();

  /** @throws CryptoError BAD_SA (local address), BAD_KEY (key size) */
  constructor(opts: EspSaTableOptions) {
    if (opts.local.length !== 4 && opts.local.length !== 16) throw new CryptoError('BAD_SA', `local address of ${opts.local.length} bytes`);
    this.local = Buffer.from(opts.local);
    this.keySize = opts.keySize ?? 16;
    if (this.keySize !== 16 && this.keySize !== 32) throw new CryptoError('BAD_KEY', `AES key size ${String(this.keySize)}`);
    this.windowSize = opts.windowSize ?? DEFAULT_REPLAY_WINDOW;
    this.sequenceOptions = opts.sequenceOptions;
  }

  /** Adds a peer VTEP (no-op when known); SAs are derived for every network. */
  addPeer(peer: Uint8Array): void {
    const p = Buffer.from(peer);
    if (p.length !== this.local.length) throw new CryptoError('BAD_SA', `peer address of ${p.length} bytes, local of ${this.local.length}`);
    const id = p.toString('hex');
    if (this.peers.has(id)) return;
    this.peers.set(id, p);
    for (const vni of this.networks.keys()) this.sync(vni);
  }

  /** Forgets a peer VTEP and its SAs. */
  removePeer(peer: Uint8Array): void {
    const p = Buffer.from(peer);
    if (!this.peers.delete(p.toString('hex'))) return;
    for (const [id, e] of this.outboundByPeer) if (e.peer.equals(p)) this.outboundByPeer.delete(id);
    this.filterInbound((e) => !e.peer.equals(p));
  }

  /**
   * Sets the keys of network `vni` (from its keyring's `state()`): inbound SAs
   * for new keys first, then the outbound SA switches, then SAs of dropped
   * keys go — the keyring's order. Windows and counters of SAs whose key
   * stays are kept.
   * @throws CryptoError BAD_ARGUMENT when sendTag is not among the keys
   */
  setNetworkKeys(vni: number, state: KeyringState): void {
    if (!state.keys.some((k) => k.tag === state.sendTag)) throw new CryptoError('BAD_ARGUMENT', `send key ${state.sendTag} is not in the ring`);
    this.networks.set(vni, { keys: state.keys.map((k) => ({ tag: k.tag, material: Buffer.from(k.material) })), sendTag: state.sendTag });
    this.sync(vni);
  }

  /** Removes network `vni` and all its SAs. */
  removeNetwork(vni: number): void {
    this.networks.delete(vni);
    for (const [id, e] of this.outboundByPeer) if (e.vni === vni) this.outboundByPeer.delete(id);
    this.filterInbound((e) => e.vni !== vni);
  }

  /** The outbound SA toward `peer` on network `vni`, if both are known. */
  outbound(vni: number, peer: Uint8Array): OutboundEntry | undefined {
    return this.outboundByPeer.get(key(vni, peer));
  }

  /** The inbound SA for a packet from `src` carrying `spi`, if any. */
  inbound(src: Uint8Array, spi: number): InboundEntry | undefined {
    const list = this.inboundBySpi.get(spi);
    if (list === undefined) return undefined;
    for (const e of list) if (e.peer.length === src.length && e.peer.equals(src)) return e;
    return undefined;
  }

  /**
   * Seals `datagram` (UDP + VXLAN + frame) for `peer` on network `vni` with
   * the next sequence number; undefined when the network or peer is unknown.
   * @throws CryptoError SEQUENCE_EXHAUSTED (rekey), or what the counter's reservation throws
   */
  seal(vni: number, peer: Uint8Array, datagram: Uint8Array): Buffer | undefined {
    const e = this.outbound(vni, peer);
    if (e === undefined) return undefined;
    return sealEsp(e.sa, e.sequence.next(), datagram);
  }

  /** Opens an ESP packet from outer source `src`. Unknown (src, SPI) → `esp_bad_spi`. Never throws. */
  open(src: Uint8Array, packet: Uint8Array): OpenedFrom | EspDropReason {
    if (packet.length < 4) return 'esp_truncated';
    const spi = ((packet[0] << 24) | (packet[1] << 16) | (packet[2] << 8) | packet[3]) >>> 0;
    const e = this.inbound(src, spi);
    if (e === undefined) return 'esp_bad_spi';
    const r = openEsp(e.sa, e.window, packet);
    return typeof r === 'string' ? r : { vni: e.vni, peer: e.peer, opened: r };
  }

  /** Every SA held (outbound and inbound), e.g. for `espSaUatFile`. */
  *securityAssociations(): Iterable<SecurityAssociation> {
    for (const e of this.outboundByPeer.values()) yield e.sa;
    for (const list of this.inboundBySpi.values()) for (const e of list) yield e.sa;
  }

  /** True when some outbound counter asks for a rekey (feed RotationSchedule.request()). */
  needsRekey(vni?: number): boolean {
    for (const e of this.outboundByPeer.values()) if ((vni === undefined || e.vni === vni) && e.sequence.needsRekey) return true;
    return false;
  }

  private sync(vni: number): void {
    const net = this.networks.get(vni);
    if (net === undefined) return;
    for (const peer of this.peers.values()) {
      // 1. inbound SAs for every key of the ring
      for (const k of net.keys) {
        const sa = deriveSa({ key: k, src: peer, dst: this.local, keySize: this.keySize });
        const existing = this.inbound(peer, sa.spi);
        if (existing !== undefined && existing.vni === vni && existing.sa.keyTag === k.tag) continue;
        const list = this.inboundBySpi.get(sa.spi) ?? [];
        list.push({ vni, peer, sa, window: new ReplayWindow(this.windowSize) });
        this.inboundBySpi.set(sa.spi, list);
      }
      // 2. the outbound SA under the sending key
      const id = key(vni, peer);
      const current = this.outboundByPeer.get(id);
      if (current?.sa.keyTag !== net.sendTag) {
        const sendKey = net.keys.find((k) => k.tag === net.sendTag)!;
        const sa = deriveSa({ key: sendKey, src: this.local, dst: peer, keySize: this.keySize });
        const opts = { max: maxSequence(sa), ...this.sequenceOptions?.(sa, vni, peer) };
        this.outboundByPeer.set(id, { vni, peer, sa, sequence: new OutboundSequence(opts) });
      }
    }
    // 3. inbound SAs of keys no longer in the ring
    const tags = new Set(net.keys.map((k) => k.tag));
    this.filterInbound((e) => e.vni !== vni || tags.has(e.sa.keyTag ?? -1));
  }

  private filterInbound(keep: (e: InboundEntry) => boolean): void {
    for (const [spi, list] of this.inboundBySpi) {
      const kept = list.filter(keep);
      if (kept.length === 0) this.inboundBySpi.delete(spi);
      else if (kept.length !== list.length) this.inboundBySpi.set(spi, kept);
    }
  }
}
