/**
 * Loads the native addon (build/Release/overlayd.node) and describes what it
 * exports. The addon is built by `npm run build:native`; on a platform other
 * than Linux it still loads and reports `supported: false` with a reason.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DropSample, PeerCounters } from './datapath.js';

/** Options of {@link Addon.tapOpen}. */
export interface TapOpenOptions {
  /** Prefix every read/write with a virtio_net_hdr and enable checksum/TSO offloads. */
  vnetHdr?: boolean;
  /** Make the device persistent (it outlives the descriptor). */
  persist?: boolean;
  /** Open the descriptor with O_NONBLOCK. */
  nonBlocking?: boolean;
  /** With `vnetHdr`: leave UDP segmentation offload off even where the kernel has it (default: on where it does). */
  noUdpOffload?: boolean;
}

/** One VXLAN payload (or, with `carrier`, ESP packet) produced by {@link DatapathHandle.processEgress}. */
export interface NativeEncapOutput {
  vtep: string;
  flowHash: number;
  payload: Buffer;
  /** Set for an ESP packet of an encrypted network. */
  carrier?: 'ip' | 'udp';
}

/** An encrypted network's encryption as {@link DatapathHandle.networkSet} takes it. */
export interface NativeEncryption {
  carrier: 'ip' | 'udp';
}

/** One SA as {@link DatapathHandle.saList} reports it. */
export interface NativeSaInfo {
  vni: number;
  peer: string;
  keyTag: number;
  spi: number;
  direction: 'out' | 'in';
  /** Outbound: last sequence number used; inbound: the replay window's top. */
  seq: number;
}

/** Raw trace record (native/pipeline/pipeline.h dp_trace): `stage` indexes TRACE_STAGES, `verdict` DROP_REASONS (−1: passed). */
export interface NativeTrace {
  stage: number;
  verdict: number;
  vtep?: string;
  flowHash: number;
  pieces: number;
  payloadLen: number;
  replyLen: number;
  sa?: { spi: number; seq: number };
  /** A group frame of a multicast network: its replication list (canonical text, unsorted). */
  vteps?: string[];
}

/** Raw egress result: `drop` is an index into DROP_REASONS. */
export interface NativeEgressResult {
  out: NativeEncapOutput[];
  reply: Buffer[];
  drop?: number;
  /** An IGMP/MLD frame of a multicast network: for the membership listener, not sent. */
  membership?: true;
  trace?: NativeTrace;
}

/** Raw ingress result: `drop` is an index into DROP_REASONS. */
export interface NativeIngressResult {
  vni?: number;
  frame?: Buffer;
  probe?: true;
  drop?: number;
  trace?: NativeTrace;
}

/** A captured frame as the punt queue delivers it. */
export interface NativePuntItem {
  vni: number;
  /** `probe`: a VTEP probe for the agent, not a capture; `membership`: an IGMP/MLD frame a multicast network's TAP gave. */
  direction: 'egress' | 'ingress' | 'probe' | 'membership';
  vtep?: string;
  frame: Buffer;
  /** Outer captures: how the packet travelled. */
  outer?: { proto: 'udp' | 'esp'; localPort: number; remotePort: number };
}

/** A sampled drop as the binding delivers it (native/binding/binding_drops.h): `reason` is an index into DROP_REASONS. */
export type NativeDropEvent = Omit<DropSample, 'reason'> & { reason: number };

/** What the offloads did since start (diagnostics, read without synchronisation). */
export interface OffloadStats {
  /** TSO super-frames read from TAPs, and the segments cut from them. */
  tsoFrames: number;
  tsoSegments: number;
  /** UDP GSO super-frames read from TAPs (a sender's UDP_SEGMENT), and the datagrams cut from them. */
  usoFrames: number;
  usoSegments: number;
  /** UDP_SEGMENT sends carrying more than one datagram, and those datagrams. */
  gsoSends: number;
  gsoDatagrams: number;
  /** Coalesced super-frames written to TAPs, and the segments in them. */
  groFrames: number;
  groSegments: number;
  /** Of those, UDP super-frames (written as UDP GSO where the kernel takes it), and their datagrams. */
  groUdpFrames: number;
  groUdpSegments: number;
  /** Received buffers that held more than one datagram (UDP GRO). */
  udpGroBuffers: number;
  /** Whole TCP super-frames received (a kernel vxlan sender's tunnel GSO), written to the TAP as TSO frames. */
  tsoFramesIn: number;
  /** Whole UDP super-frames received (a kernel vxlan sender's tunnel GSO of a UDP_SEGMENT train), written as UDP GSO or cut into datagrams. */
  usoFramesIn: number;
  /** UDP_SEGMENT in use (turned off after EIO). */
  gsoEnabled: boolean;
  /** UDP_GRO enabled on the data-port socket. */
  groEnabled: boolean;
  /** The TAPs take UDP segmentation offload (Linux 6.2+): UDP GSO frames are read from them and written to them. */
  usoEnabled: boolean;
}

/**
 * One native data path: tables, counter block, worker threads. Errors carry
 * `code` = errno name; argument errors `ERR_INVALID_ARG_TYPE`/`_VALUE`.
 */
export interface DatapathHandle {
  /** (counterRows × counterSlots) uint64 counters; row 0 = synchronous calls, then two rows per worker. */
  readonly counters: ArrayBuffer;
  /**
   * Adds or updates a network with its TAP's queue descriptors (worker i reads
   * queue i; −1 or [] for none). Replaced descriptors are closed. With
   * `encryption` the network is encrypted from this call on; with
   * `multicast` it replicates group frames, `rate` frames/s at most (0: no limit).
   */
  networkSet(vni: number, mtu: number, tapFds: number | number[], encryption?: NativeEncryption, multicast?: { rate: number }): void;
  /** Removes the network and closes its TAP descriptor; false if it did not exist. */
  networkRemove(vni: number): boolean;
  /**
   * Mirrors the network's frames to the punt callback — inner frames, the
   * packets on the wire (outer), filtered by inner host and VTEP (native/io/capture.c) —
   * or with nothing asked for, stops; false if the network does not exist.
   */
  captureSet(vni: number, capture: { inner?: boolean; outer?: boolean; host?: string; vtep?: string }): boolean;
  fdbSet(vni: number, mac: string, vtep: string): void;
  /** False when there was no such entry. */
  fdbDelete(vni: number, mac: string): boolean;
  neighSet(vni: number, ip: string, mac: string): void;
  /** False when there was no such entry. */
  neighDelete(vni: number, ip: string): boolean;
  /** FDB entries of the VNI pointing at `vtep` (0: not a VTEP of the VNI). */
  vtepRefs(vni: number, vtep: string): number;
  processEgress(vni: number, frame: Buffer, trace?: boolean): NativeEgressResult;
  processIngress(srcAddress: string, payload: Buffer, trace?: boolean): NativeIngressResult;
  /** Sends a VTEP probe frame to `vtep` on `vni` from the calling thread: −1 when sent, else the drop reason index. */
  probeSend(vni: number, vtep: string, frame: Buffer): number;
  /** Every remote VTEP of any network with its counters summed over the threads. */
  peerCounters(): PeerCounters[];
  /** Replaces the VTEPs of group `mac` ([] removes it); false when the network is not attached. */
  groupSet(vni: number, mac: string, vteps: string[]): boolean;
  /** The group table of a network (unsorted), or null when it is not attached. */
  groups(vni: number): { mac: string; vteps: string[] }[] | null;
  /** Writes a frame into queue 0 of the network's TAP; false without it or when the write failed (tap_write). */
  inject(vni: number, frame: Buffer): boolean;
  /** A traced ESP packet: the inbound SA of (src, spi) looked up, never opened, then `payload`'s VXLAN stages. */
  traceEsp(srcAddress: string, spi: number, payload: Buffer): NativeIngressResult;
  /** The outer UDP source port of VXLAN with `flowHash` (the pool socket it picks); 0 when stopped. */
  sourcePort(flowHash: number): number;
  /** An ESP packet (SPI to ICV) from `srcAddress`, on the synchronous slot. */
  processEsp(srcAddress: string, packet: Buffer): NativeIngressResult;
  /** Installs or replaces the outbound SA of (vni, peer); its first packet carries `lastUsed + 1`. */
  saOutboundSet(vni: number, peer: string, spi: number, key: Buffer, salt: Buffer, esn: boolean, keyTag: number, lastUsed: number): void;
  /** False when there was none. */
  saOutboundDelete(vni: number, peer: string): boolean;
  /** Installs or replaces the inbound SA of (peer, spi) for `vni` with a fresh replay window of `windowSize`. */
  saInboundAdd(vni: number, peer: string, spi: number, key: Buffer, salt: Buffer, esn: boolean, keyTag: number, windowSize: number, windowTop: number): void;
  /** Removes the inbound SA of (peer, spi) when it is the one of (vni, keyTag); false otherwise. */
  saInboundDelete(vni: number, peer: string, spi: number, keyTag: number): boolean;
  /** Every SA held (outbound first), of one network when `vni` is given. */
  saList(vni?: number): NativeSaInfo[];
  /** Binds the sockets, starts the workers; returns the bound data port. */
  start(onPunt: (items: NativePuntItem[], drops?: NativeDropEvent[], dropsLost?: number) => void): number;
  /** The drops of network `vni` by reason index, counted by the workers; null without the network. */
  networkDrops(vni: number): number[] | null;
  /** Stops the workers and closes the sockets. */
  stop(): void;
  /** The bound ESP-in-UDP port; 0 when stopped. */
  espPort(): number;
  /** Whether the raw IP protocol 50 socket is open (needs CAP_NET_RAW); false when stopped. */
  espRaw(): boolean;
  /** What TSO/GSO/GRO did since start; zeros when stopped. */
  offloadStats(): OffloadStats;
}

/** What the native addon exports. */
export interface Addon {
  /** Whether TAP devices and the native data path work on this platform. */
  readonly supported: boolean;
  /** Why not, when `supported` is false. */
  readonly unsupportedReason: string | null;
  /**
   * Opens the TAP device `name`, creating it if missing, re-attaching if it
   * exists; returns the file descriptor. Throws an Error with `code` = errno
   * name (`EPERM`, `EBUSY`, ...).
   */
  tapOpen(name: string, opts?: TapOpenOptions): number;
  /**
   * Opens up to `n` queues of the multi-queue TAP `name` (creating it if
   * missing); a persistent single-queue TAP gives its one queue. Returns the
   * descriptors.
   */
  tapOpenQueues(name: string, opts: TapOpenOptions, n: number): number[];
  /** Most worker threads (and TAP queues) a data path runs. */
  readonly maxWorkers: number;
  /** Slots per counter row (the datapath.ts layout). */
  readonly counterSlots: number;
  /** Rows in a DatapathHandle's counter block. */
  readonly counterRows: number;
  /**
   * Creates a data path bound (once started) to bindAddress:dataPort with a
   * source pool of `sourcePorts` sockets, ESP-in-UDP on `espPort` (default
   * 4500) and raw ESP when permitted, with `workers` threads (default 1);
   * `realtimeWorker` runs them SCHED_FIFO when permitted; `busyPollUs` µs of
   * polling after traffic while a CPU is free (default 0: off).
   */
  DatapathHandle: new (
    bindAddress: string,
    dataPort: number,
    sourcePorts: number,
    realtimeWorker: boolean,
    espPort?: number,
    workers?: number,
    busyPollUs?: number,
  ) => DatapathHandle;
}

/** Thrown when the compiled addon cannot be found or loaded. */
export class AddonLoadError extends Error {
  /** `ERR_ADDON_NOT_BUILT` (no binary found) or `ERR_ADDON_LOAD` (the binary failed to load). */
  readonly code: 'ERR_ADDON_NOT_BUILT' | 'ERR_ADDON_LOAD';

  constructor(code: 'ERR_ADDON_NOT_BUILT' | 'ERR_ADDON_LOAD', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AddonLoadError';
    this.code = code;
  }
}

const ADDON_RELATIVE_PATH = join('build', 'Release', 'overlayd.node');

/** Walks up from this module to the directory holding the compiled addon (src/ or dist/src/ both work). */
function findAddonPath(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, ADDON_RELATIVE_PATH);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

let cached: Addon | undefined;

/** Environment variable naming an addon binary to load instead of build/Release/overlayd.node. */
export const ADDON_PATH_ENV = 'OVERLAYD_ADDON_PATH';

/**
 * Loads the addon once and returns it; throws {@link AddonLoadError} if it is
 * not built or does not load. `OVERLAYD_ADDON_PATH` overrides where it is
 * looked for (a packaged or privately built binary).
 */
export function loadAddon(): Addon {
  if (cached) return cached;
  const override = process.env[ADDON_PATH_ENV];
  const path = override !== undefined && override !== '' ? override : findAddonPath();
  if (!path || !existsSync(path)) {
    throw new AddonLoadError(
      'ERR_ADDON_NOT_BUILT',
      `native addon not built: ${path ?? ADDON_RELATIVE_PATH} not found; run \`npm run build:native\``,
    );
  }
  const require = createRequire(import.meta.url);
  try {
    cached = require(path) as Addon;
  } catch (err) {
    throw new AddonLoadError('ERR_ADDON_LOAD', `native addon at ${path} failed to load: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return cached;
}
