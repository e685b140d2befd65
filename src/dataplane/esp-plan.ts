/**
 * Which ESP SAs a host needs, derived from what the data path already knows:
 * for each encrypted network, its key ring and the VTEPs of its FDB.
 *
 *     per (network, peer VTEP):  outbound SA under the sending key (one)
 *                                inbound SAs under every key of the ring
 *
 * Both paths feed it the same calls they get (addNetwork, setKeys, fdbSet…)
 * and hold the SAs it hands to their {@link SaSink}: the TypeScript path in
 * maps, the native path in C tables. Changes come out in the ring's order —
 * inbound SAs for new keys, then the outbound switch, then inbound SAs of
 * dropped keys — so a host never sends under a key before it accepts it, and
 * never stops accepting a key while it might still send under it.
 */
import { deriveSa, type KeyringState, type NetworkKey, SecurityAssociation } from '../crypto/index.js';
import { formatIp, parseIp } from '../wire/index.js';
import type { NetworkEncryption, SaIdentity } from './datapath.js';

/** One SA handed to a path. */
export interface PlannedSa extends SaIdentity {
  /** The peer's address as 4 or 16 bytes. */
  peerBytes: Buffer;
  sa: SecurityAssociation;
}

/** Where the planner's changes go (a data path's SA store). */
export interface SaSink {
  /**
   * Accept packets of `e.sa` from `e.peer` (keyed by peer and SPI), with a
   * replay window that starts at `windowTop`: only numbers above it pass.
   */
  inboundAdd(e: PlannedSa, windowTop: number): void;
  /** Stop accepting them. */
  inboundDelete(e: PlannedSa): void;
  /** Send to `e.peer` on `e.vni` under `e.sa` from now on, first sequence number `lastUsed + 1`. */
  outboundSet(e: PlannedSa, lastUsed: number): void;
  /** Nothing more may be sent to `peer` on `vni` (no SA → `no_sa`). */
  outboundDelete(vni: number, peer: string): void;
}

/** Errors of the SA planner. */
export class EspPlanError extends Error {
  readonly code: 'NOT_ENCRYPTED' | 'NO_VTEP_ADDRESS';

  constructor(code: EspPlanError['code'], message: string) {
    super(message);
    this.name = 'EspPlanError';
    this.code = code;
  }
}

interface PlannedNetwork {
  encryption: NetworkEncryption;
  ring?: KeyringState;
  /** MAC → VTEP, as the FDB holds it. */
  macs: Map<string, string>;
  /** VTEP → FDB entries pointing at it. */
  peers: Map<string, number>;
  /** `${peer}/${tag}` → inbound SA installed. */
  inbound: Map<string, PlannedSa>;
  /** peer → outbound SA installed. */
  outbound: Map<string, PlannedSa>;
}

const canonical = (ip: string): string => formatIp(parseIp(ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip));

/** Derives and tracks the SAs of every encrypted network of one host. */
export class EspPlanner {
  private readonly local: Buffer | undefined;
  private readonly networks = new Map<number, PlannedNetwork>();

  /**
   * @param localVtep this host's VTEP address (undefined or a wildcard: encrypted networks are refused)
   * @param sequenceStart last sequence number to assume used for a new outbound SA (default 0)
   * @param windowStart where a new inbound SA's replay window starts (default 0: empty)
   */
  constructor(
    localVtep: string | undefined,
    private readonly sink: SaSink,
    private readonly sequenceStart: (sa: SaIdentity) => number = () => 0,
    private readonly windowStart: (sa: SaIdentity) => number = () => 0,
  ) {
    const bytes = localVtep === undefined ? undefined : parseIp(canonical(localVtep));
    this.local = bytes !== undefined && bytes.some((b) => b !== 0) ? bytes : undefined;
  }

  /** The encryption of `vni`, or undefined for a plain (or unknown) network. */
  encryption(vni: number): NetworkEncryption | undefined {
    return this.networks.get(vni)?.encryption;
  }

  /**
   * Registers an encrypted network (no keys yet: nothing can be sent).
   * @throws EspPlanError NO_VTEP_ADDRESS when this host's VTEP address is unknown
   */
  addNetwork(vni: number, encryption: NetworkEncryption): void {
    if (this.local === undefined) {
      throw new EspPlanError('NO_VTEP_ADDRESS', 'encrypted networks need this host\'s VTEP address (the data path binds a wildcard and no vtepAddress was given)');
    }
    this.removeNetwork(vni);
    this.networks.set(vni, { encryption: { ...encryption }, macs: new Map(), peers: new Map(), inbound: new Map(), outbound: new Map() });
  }

  /** Forgets a network and every SA of it (a no-op for a plain one). */
  removeNetwork(vni: number): void {
    const net = this.networks.get(vni);
    if (net === undefined) return;
    for (const peer of net.outbound.keys()) this.sink.outboundDelete(vni, peer);
    for (const e of net.inbound.values()) this.sink.inboundDelete(e);
    this.networks.delete(vni);
  }

  /**
   * Sets the ring of `vni` and brings the SAs of every peer to it.
   * @throws EspPlanError NOT_ENCRYPTED
   */
  setKeys(vni: number, ring: KeyringState): void {
    const net = this.networks.get(vni);
    if (net === undefined) throw new EspPlanError('NOT_ENCRYPTED', `network ${vni} is not an encrypted network of this data path`);
    if (!ring.keys.some((k) => k.tag === ring.sendTag)) throw new EspPlanError('NOT_ENCRYPTED', `send key ${ring.sendTag} is not in the ring of network ${vni}`);
    net.ring = { keys: ring.keys.map((k) => ({ tag: k.tag, material: Buffer.from(k.material) })), sendTag: ring.sendTag };
    this.sync(vni, net);
  }

  /** The FDB of `vni` maps `mac` to `vtep` (a plain network is ignored). */
  fdbSet(vni: number, mac: string, vtep: string): void {
    const net = this.networks.get(vni);
    if (net === undefined) return;
    const peer = canonical(vtep);
    const before = net.macs.get(mac);
    if (before === peer) return;
    net.macs.set(mac, peer);
    net.peers.set(peer, (net.peers.get(peer) ?? 0) + 1);
    if (before !== undefined) this.unref(net, before);
    this.sync(vni, net);
  }

  /** The FDB of `vni` no longer has `mac`. */
  fdbDelete(vni: number, mac: string): void {
    const net = this.networks.get(vni);
    const before = net?.macs.get(mac);
    if (net === undefined || before === undefined) return;
    net.macs.delete(mac);
    this.unref(net, before);
    this.sync(vni, net);
  }

  private unref(net: PlannedNetwork, peer: string): void {
    const n = (net.peers.get(peer) ?? 1) - 1;
    if (n > 0) net.peers.set(peer, n);
    else net.peers.delete(peer);
  }

  /** Brings the sink to (ring × peers) of one network, in the ring's order. */
  private sync(vni: number, net: PlannedNetwork): void {
    const local = this.local!;
    const keys = net.ring?.keys ?? [];
    const sendKey = keys.find((k) => k.tag === net.ring?.sendTag);
    const plan = (key: NetworkKey, peer: string, outbound: boolean): PlannedSa => {
      const peerBytes = parseIp(peer);
      const [src, dst] = outbound ? [local, peerBytes] : [peerBytes, local];
      const sa = deriveSa({ key, src, dst, keySize: net.encryption.keySize });
      const esnSa = net.encryption.esn ? sa : withoutEsn(sa);
      return { vni, peer, peerBytes, keyTag: key.tag, spi: sa.spi, sa: esnSa };
    };
    // 1. inbound SAs for every key of the ring and every peer
    for (const peer of net.peers.keys()) {
      for (const key of keys) {
        const id = `${peer}/${key.tag}`;
        if (net.inbound.has(id)) continue;
        const e = plan(key, peer, false);
        net.inbound.set(id, e);
        this.sink.inboundAdd(e, this.windowStart({ vni, peer, keyTag: e.keyTag, spi: e.spi }));
      }
    }
    // 2. the outbound SA of each peer under the sending key; peers gone lose theirs
    for (const [peer, e] of net.outbound) {
      if (net.peers.has(peer) && sendKey !== undefined) continue;
      net.outbound.delete(peer);
      this.sink.outboundDelete(vni, e.peer);
    }
    if (sendKey !== undefined) {
      for (const peer of net.peers.keys()) {
        if (net.outbound.get(peer)?.keyTag === sendKey.tag) continue;
        const e = plan(sendKey, peer, true);
        net.outbound.set(peer, e);
        this.sink.outboundSet(e, this.sequenceStart({ vni, peer, keyTag: e.keyTag, spi: e.spi }));
      }
    }
    // 3. inbound SAs of keys that left the ring or peers that left the FDB
    const tags = new Set(keys.map((k) => k.tag));
    for (const [id, e] of net.inbound) {
      if (tags.has(e.keyTag) && net.peers.has(e.peer)) continue;
      net.inbound.delete(id);
      this.sink.inboundDelete(e);
    }
  }
}

/** The same SA with classic 32-bit sequence numbers. */
function withoutEsn(sa: SecurityAssociation): SecurityAssociation {
  return new SecurityAssociation({ spi: sa.spi, key: sa.key, salt: sa.salt, src: sa.src, dst: sa.dst, keyTag: sa.keyTag, esn: false });
}
