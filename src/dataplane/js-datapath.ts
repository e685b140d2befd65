/**
 * The TypeScript reference path with its own I/O: TAP frames read through
 * libuv's thread pool, VXLAN through node:dgram. Slow next to the native path
 * but complete, and the yardstick the native path is tested against. The
 * decisions themselves are in ./process.ts.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import { formatIp, ipFamily, parseIp } from '../wire/index.js';
import { loadAddon } from './addon.js';
import {
  countersFromSlots,
  type CapturedFrame,
  type Datapath,
  type DatapathCounters,
  type DatapathOptions,
  type EgressResult,
  type IngressResult,
  type NetworkAttachment,
} from './datapath.js';
import { ReferenceProcessor, type NetworkConfig } from './process.js';
import { FdbTable, NeighbourTable } from './tables.js';

/** Largest frame a TAP read can return (TAP MTU is at most 65535). */
const TAP_READ_SIZE = 65536 + 14;

interface OpenTap {
  vni: number;
  fd: number;
  open: boolean;
  buffer: Buffer;
}

export class JsDatapath implements Datapath {
  readonly kind = 'js' as const;
  private readonly networks = new Map<number, NetworkConfig>();
  private readonly fdb = new FdbTable();
  private readonly neigh = new NeighbourTable();
  private readonly processor = new ReferenceProcessor(this.networks, this.fdb, this.neigh);
  private readonly taps = new Map<number, OpenTap>();
  private readonly captures = new Map<number, (f: CapturedFrame) => void>();
  private receiver?: dgram.Socket;
  private sources: dgram.Socket[] = [];
  private readonly dataPort: number;

  constructor(private readonly options: DatapathOptions) {
    this.dataPort = options.dataPort;
  }

  async start(): Promise<void> {
    const family = ipFamily(this.options.bindAddress);
    if (family === 0) throw new Error(`bind address ${this.options.bindAddress} is not an IP address`);
    const type = family === 6 ? 'udp6' : 'udp4';
    this.receiver = await bindSocket(type, this.options.bindAddress, this.dataPort);
    this.receiver.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo.address));
    const n = Math.max(1, this.options.sourcePorts ?? 8);
    for (let i = 0; i < n; i++) this.sources.push(await bindSocket(type, this.options.bindAddress, 0));
  }

  async stop(): Promise<void> {
    for (const vni of [...this.taps.keys()]) this.removeNetwork(vni);
    for (const s of [this.receiver, ...this.sources]) s?.close();
    this.receiver = undefined;
    this.sources = [];
  }

  addNetwork(net: NetworkAttachment): void {
    if (this.taps.has(net.vni)) this.removeNetwork(net.vni);
    const fd = loadAddon().tapOpen(net.tapName, { persist: true, vnetHdr: false, nonBlocking: false });
    this.networks.set(net.vni, { mtu: net.mtu });
    const tap: OpenTap = { vni: net.vni, fd, open: true, buffer: Buffer.allocUnsafe(TAP_READ_SIZE) };
    this.taps.set(net.vni, tap);
    this.readLoop(tap);
  }

  removeNetwork(vni: number): void {
    const tap = this.taps.get(vni);
    this.networks.delete(vni);
    this.fdb.deleteVni(vni);
    this.neigh.deleteVni(vni);
    this.captures.delete(vni);
    if (tap === undefined) return;
    tap.open = false;
    this.taps.delete(vni);
    fs.close(tap.fd, () => undefined);
  }

  fdbSet(vni: number, mac: string, vtep: string): void {
    this.fdb.set(vni, mac, vtep);
  }
  fdbDelete(vni: number, mac: string): void {
    this.fdb.delete(vni, mac);
  }
  neighSet(vni: number, ip: string, mac: string): void {
    this.neigh.set(vni, ip, mac);
  }
  neighDelete(vni: number, ip: string): void {
    this.neigh.delete(vni, ip);
  }

  counters(): DatapathCounters {
    return countersFromSlots(this.processor.counters);
  }

  setCapture(vni: number, listener: ((f: CapturedFrame) => void) | null): void {
    if (listener === null) this.captures.delete(vni);
    else this.captures.set(vni, listener);
  }

  processEgress(vni: number, frame: Buffer): EgressResult {
    return this.processor.processEgress(vni, frame);
  }

  processIngress(srcAddress: string, payload: Buffer): IngressResult {
    return this.processor.processIngress(srcAddress, payload);
  }

  private readLoop(tap: OpenTap): void {
    fs.read(tap.fd, tap.buffer, 0, tap.buffer.length, null, (err, n) => {
      if (!tap.open) return;
      if (err) {
        // EAGAIN cannot happen on a blocking descriptor; anything else means the device went away.
        if (err.code === 'EINTR') return this.readLoop(tap);
        tap.open = false;
        return;
      }
      // The read buffer is reused: onFrame finishes with it before the next read (its outputs are copies).
      if (n > 0) this.onFrame(tap, tap.buffer.subarray(0, n));
      this.readLoop(tap);
    });
  }

  private onFrame(tap: OpenTap, frame: Buffer): void {
    const result = this.processor.processEgress(tap.vni, frame);
    for (const reply of result.reply) this.writeTap(tap, reply);
    for (const out of result.out) {
      const socket = this.sources[out.flowHash % this.sources.length];
      socket.send(out.payload, this.dataPort, out.vtep, (err) => {
        if (err) this.processor.countDrop('udp_send');
      });
    }
    const capture = this.captures.get(tap.vni);
    if (capture) capture({ vni: tap.vni, direction: 'egress', frame: Buffer.from(frame), vtep: result.out[0]?.vtep });
  }

  private onDatagram(msg: Buffer, from: string): void {
    const result = this.processor.processIngress(from, msg);
    if (result.frame === undefined || result.vni === undefined) return;
    const tap = this.taps.get(result.vni);
    if (tap === undefined) return;
    this.writeTap(tap, result.frame);
    const capture = this.captures.get(result.vni);
    if (capture) capture({ vni: result.vni, direction: 'ingress', frame: Buffer.from(result.frame), vtep: canonical(from) });
  }

  private writeTap(tap: OpenTap, frame: Buffer): void {
    try {
      fs.writeSync(tap.fd, frame);
    } catch {
      this.processor.countDrop('tap_write');
    }
  }
}

function bindSocket(type: 'udp4' | 'udp6', address: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type, ipv6Only: type === 'udp6', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    socket.once('error', reject);
    socket.bind(port, address, () => {
      socket.off('error', reject);
      socket.on('error', () => undefined); // per-send errors arrive in send callbacks
      resolve(socket);
    });
  });
}

const canonical = (addr: string): string => formatIp(parseIp(addr));
