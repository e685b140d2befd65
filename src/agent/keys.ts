/**
 * The agent's side of encrypted networks: hands key rings to the data path,
 * checks encryption requests, keeps ESP sequence numbers across restarts,
 * rotates keys on demand, on a schedule and when an SA wears out, and reports
 * a network's keys and SAs. The pure rules live in encryption.ts and
 * cluster/network-keys.ts; this is their wiring to the store and data path.
 */
import { OverlayError } from '../cluster/errors.js';
import type { NetworkEntry } from '../cluster/entries.js';
import type { EncryptionRequest, NetworkEncryptionEntry } from '../cluster/network-keys.js';
import type { SaIdentity, SaInfo } from '../dataplane/datapath.js';
import { deriveSa, encryptedOverlayMtu, espSaUatFile } from '../crypto/index.js';
import { ipFamily, parseIp } from '../wire/index.js';
import { ESN_REKEY_AT, NO_ESN_REKEY_AT, SequenceCheckpoints, keyringOf, ringSignature, rotationDue, scheduledRotator } from './encryption.js';
import type { AgentContext, UpNetwork } from './context.js';
import type { KeysReport, NetworkCreateRequest } from './operations.js';

/**
 * An on-demand rotation promotes a key only once this node has held it this
 * long, so gossip has carried it to every live node first (5 agents converge
 * in well under a second; 50 in about one).
 */
export const KEY_SETTLE_MS = 5_000;

export class NetworkKeys {
  private sequences!: SequenceCheckpoints;
  private underlayMtu = 1500;
  /** When this node first held each key tag (the settle guard of on-demand rotations). */
  private readonly keySeen = new Map<number, number>();
  /** Networks with a rotation under way from the schedule or a worn SA. */
  private readonly rotating = new Set<string>();

  constructor(
    private readonly ctx: AgentContext,
    /** The agent's queue of host changes. */
    private readonly serial: <T>(fn: () => Promise<T>) => Promise<T>,
    /** Brings the host in line with the store (reconcile.ts); called inside `serial`. */
    private readonly reconcile: () => Promise<void>,
  ) {}

  /** Reads the sequence checkpoints; before the data path is created. */
  start(underlayMtu: number): void {
    this.underlayMtu = underlayMtu;
    this.sequences = new SequenceCheckpoints(this.ctx.config.stateDir);
  }

  /**
   * One rotation step of an encrypted network's keys (network-keys.ts), on
   * demand. Waits until the key it promotes has been here KEY_SETTLE_MS (so
   * every live node holds it), and returns once this host sends with it.
   */
  async rotateKey(name: string): Promise<KeysReport> {
    const { store, log } = this.ctx;
    const pending = store.pendingKey(name);
    if (pending === undefined) throw new OverlayError('BAD_REQUEST', `network ${name} is not encrypted: it has no keys to rotate`);
    const wait = (this.keySeen.get(pending.tag) ?? Date.now()) + KEY_SETTLE_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    return this.serial(async () => {
      const net = store.commitKeyRotation(name);
      log.info({ network: name, sendTag: net.encryption!.sendTag }, 'network key rotated');
      await this.reconcile();
      return this.keys(name, false);
    });
  }

  /** The key ring and SAs of an encrypted network; with `secrets`, the keys too (the API allows it to root only). */
  keys(name: string, secrets: boolean): KeysReport {
    const net = this.ctx.store.network(name);
    const enc = net.encryption;
    if (!enc) throw new OverlayError('BAD_REQUEST', `network ${name} is not encrypted`);
    const now = Date.now();
    const pending = this.ctx.store.pendingKey(name);
    const sas = this.ctx.up.has(name) ? this.ctx.datapath.securityAssociations(net.vni) : [];
    const report: KeysReport = {
      network: net.name,
      vni: net.vni,
      carrier: enc.carrier,
      keySize: enc.keySize,
      esn: enc.esn,
      keys: enc.keys.map((k) => ({
        tag: k.tag,
        sending: k.tag === enc.sendTag,
        pending: k.tag === pending?.tag,
        ageSeconds: Math.max(0, Math.round((now - k.created) / 1000)),
        created: new Date(k.created).toISOString(),
      })),
      sas: sas.map((s) => ({ direction: s.direction, peer: s.peer, spi: `0x${s.spi.toString(16).padStart(8, '0')}`, keyTag: s.keyTag, seq: s.seq })),
    };
    if (secrets) {
      const keys = keyringOf(enc).keys.map((k) => ({ tag: k.tag, material: Buffer.from(k.material).toString('hex') }));
      const peers = new Set([...sas.map((s) => s.peer), ...(this.ctx.up.get(name)?.fdb.values() ?? [])]);
      report.secrets = { keys, espSa: this.espSaExport(enc, sas), espSaRing: this.espSaRingExport(enc, peers) };
    }
    return report;
  }

  /** Hands a changed key ring to the data path (which installs receive keys before switching the sender). */
  syncKeys(net: NetworkEntry, up: UpNetwork): void {
    const enc = net.encryption;
    if (!enc) return;
    const now = Date.now();
    for (const k of enc.keys) if (!this.keySeen.has(k.tag)) this.keySeen.set(k.tag, now);
    const signature = ringSignature(enc);
    if (up.ring === signature) return;
    this.ctx.datapath.setKeys(net.vni, keyringOf(enc));
    up.ring = signature;
    this.ctx.log.info({ network: net.name, keys: enc.keys.map((k) => k.tag), sendTag: enc.sendTag }, 'network keys installed');
  }

  encryptionRequest(req: NetworkCreateRequest): EncryptionRequest {
    if (!this.ctx.config.gossipKey) {
      throw new OverlayError(
        'UNSUPPORTED',
        'encrypted networks need encrypted gossip: their keys travel only inside it. Start every overlayd of the cluster with --gossip-key',
      );
    }
    const esp = req.esp ?? {};
    if (esp.carrier !== undefined && esp.carrier !== 'ip' && esp.carrier !== 'udp') throw new OverlayError('BAD_REQUEST', `ESP carrier must be ip or udp, got "${String(esp.carrier)}"`);
    if (esp.keyBits !== undefined && esp.keyBits !== 128 && esp.keyBits !== 256) throw new OverlayError('BAD_REQUEST', `ESP key bits must be 128 or 256, got ${String(esp.keyBits)}`);
    return { carrier: esp.carrier ?? 'ip', keySize: esp.keyBits === 256 ? 32 : 16, esn: esp.esn ?? true };
  }

  /** The overlay MTU of an encrypted network on this host's underlay. */
  encryptedMtu(enc: EncryptionRequest): number {
    const family = ipFamily(this.ctx.config.advertiseAddr) as 4 | 6;
    return encryptedOverlayMtu(this.underlayMtu, family, enc.carrier ?? 'ip', enc.keySize ?? 16);
  }

  /** Where a new outbound SA's sequence numbers start (SequenceCheckpoints). */
  sequenceStart(id: SaIdentity): number {
    const enc = this.ctx.store.networks().find((n) => n.vni === id.vni)?.encryption;
    const key = enc?.keys.find((k) => k.tag === id.keyTag);
    return this.sequences.start(id, key?.created, enc?.esn ?? true);
  }

  /** Where a new inbound SA's replay window resumes (SequenceCheckpoints). */
  windowStart(id: SaIdentity): number {
    return this.sequences.windowStart(id);
  }

  /** Persists outbound sequence numbers; asks for a new key when an SA nears the end of its numbers. */
  checkpointSequences(): void {
    const { store, datapath, log } = this.ctx;
    const sas = datapath.securityAssociations();
    try {
      const liveTags = new Set(store.networks().flatMap((n) => n.encryption?.keys.map((k) => k.tag) ?? []));
      this.sequences.record(sas, liveTags);
      this.sequences.save();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'saving ESP sequence checkpoints failed');
    }
    for (const net of store.networks()) {
      const enc = net.encryption;
      if (!enc || !this.ctx.up.has(net.name)) continue;
      const limit = enc.esn ? ESN_REKEY_AT : NO_ESN_REKEY_AT;
      const worn = sas.some((s) => s.vni === net.vni && s.direction === 'out' && s.keyTag === enc.sendTag && s.seq >= limit);
      if (worn) this.rotateInBackground(net.name, 'sequence numbers near their end');
    }
  }

  /** Rotates the networks whose sending key is older than the interval, where this node is the rotator. */
  rotateDueKeys(): void {
    const { store, config } = this.ctx;
    const now = Date.now();
    const alive = (node: string): boolean => node === config.name || store.memberState(node) === 'alive';
    for (const net of store.networks()) {
      const enc = net.encryption;
      if (!enc || !rotationDue(enc, config.keyRotationIntervalS * 1000, now)) continue;
      const holders = [...new Set(store.endpoints(net.name).map((e) => e.owner)), config.name];
      if (scheduledRotator(net.owner, holders, alive) !== config.name) continue;
      this.rotateInBackground(net.name, 'scheduled');
    }
  }

  private rotateInBackground(name: string, why: string): void {
    if (this.rotating.has(name)) return;
    this.rotating.add(name);
    this.ctx.log.info({ network: name, why }, 'rotating network key');
    this.rotateKey(name)
      .catch((err: Error) => this.ctx.log.error({ network: name, err: err.message }, 'key rotation failed'))
      .finally(() => this.rotating.delete(name));
  }

  /** Wireshark's esp_sa records of the network's SAs on this host. */
  private espSaExport(enc: NetworkEncryptionEntry, sas: SaInfo[]): string {
    const ring = keyringOf(enc);
    const local = parseIp(this.ctx.config.advertiseAddr);
    const derived = sas.flatMap((s) => {
      const key = ring.keys.find((k) => k.tag === s.keyTag);
      if (!key) return [];
      const peer = parseIp(s.peer);
      const [src, dst] = s.direction === 'out' ? [local, peer] : [peer, local];
      return [deriveSa({ key, src, dst, keySize: enc.keySize })];
    });
    return espSaUatFile(derived);
  }

  /** Wireshark's esp_sa records of every key of the ring, to and from each of `peers`: what the network may carry while the ring holds. */
  private espSaRingExport(enc: NetworkEncryptionEntry, peers: Iterable<string>): string {
    const local = parseIp(this.ctx.config.advertiseAddr);
    const remotes = [...peers].map(parseIp).filter((p) => p.length === local.length);
    const derived = keyringOf(enc).keys.flatMap((key) =>
      remotes.flatMap((peer) => [deriveSa({ key, src: local, dst: peer, keySize: enc.keySize }), deriveSa({ key, src: peer, dst: local, keySize: enc.keySize })]),
    );
    return espSaUatFile(derived);
  }
}
