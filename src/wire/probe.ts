/**
 * VTEP probes: the inner Ethernet frame agents send each other over the data
 * path to prove that a VTEP carries frames (docs/datapath.md "VTEP probes").
 * Both data paths recognise it after admission (isProbeFrame) and hand it to
 * the agent instead of the TAP; src/agent/peer-health.ts sends and answers.
 *
 *   0   dst MAC   02:6f:76:70:72:62 (PROBE_MAC)
 *   6   src MAC   02:6f:76:70:72:62
 *   12  ethertype 0x88b5 (IEEE local experimental)
 *   14  magic     "OVPB"
 *   18  version   1
 *   19  kind      1 request, 2 reply
 *   20  flags     0 (ignored on receipt)
 *   22  seq       u32: the prober's sequence number, echoed
 *   26  sentNs    u64: the prober's send time on its own monotonic clock, echoed
 *   34  wallMs    u64: the sender's wall clock (ms since 1970): request the
 *                 prober's, reply the responder's (clock offset)
 *   42  size      u16: the frame's length; the reply has the same length
 *   44  zeros up to `size` (a full-size probe fills the network MTU)
 *
 * All integers big-endian.
 */
import { need } from './bounds.js';
import { WireError } from './errors.js';

export const PROBE_ETHERTYPE = 0x88b5;
export const PROBE_MAC = '02:6f:76:70:72:62';
const PROBE_MAC_BYTES = Buffer.from([0x02, 0x6f, 0x76, 0x70, 0x72, 0x62]);
const MAGIC = 0x4f565042; // "OVPB"
const VERSION = 1;
/** Length of the probe header, Ethernet included: the smallest probe frame. */
export const PROBE_HEADER_LENGTH = 44;
/** Largest probe frame (the size field is 16 bits). */
export const PROBE_MAX_LENGTH = 0xffff;

export type ProbeKind = 'request' | 'reply';

export interface Probe {
  kind: ProbeKind;
  seq: number;
  /** The prober's monotonic send time in ns (bigint: 64 bits), echoed by the reply. */
  sentNs: bigint;
  /** The sender's wall clock in ms since 1970. */
  wallMs: number;
  /** Frame length, padding included. */
  size: number;
}

/** Whether an inner frame is a VTEP probe: to the probe MAC, untagged ethertype 0x88b5 (what the data paths check). */
export function isProbeFrame(frame: Uint8Array): boolean {
  return frame.length >= 14 && frame[12] === PROBE_ETHERTYPE >> 8 && frame[13] === (PROBE_ETHERTYPE & 0xff) && PROBE_MAC_BYTES.equals(frame.subarray(0, 6));
}

/** Builds the probe frame, `probe.size` bytes long. */
export function encodeProbe(probe: Probe): Buffer {
  const { size, seq, wallMs } = probe;
  if (!Number.isInteger(size) || size < PROBE_HEADER_LENGTH || size > PROBE_MAX_LENGTH) {
    throw new WireError('BAD_LENGTH', `probe size ${size} outside ${PROBE_HEADER_LENGTH}–${PROBE_MAX_LENGTH}`);
  }
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffffffff) throw new WireError('BAD_VALUE', `probe seq ${seq} is not a u32`);
  if (!Number.isInteger(wallMs) || wallMs < 0) throw new WireError('BAD_VALUE', `probe wall clock ${wallMs} is not a non-negative integer`);
  const b = Buffer.alloc(size);
  PROBE_MAC_BYTES.copy(b, 0);
  PROBE_MAC_BYTES.copy(b, 6);
  b.writeUInt16BE(PROBE_ETHERTYPE, 12);
  b.writeUInt32BE(MAGIC, 14);
  b[18] = VERSION;
  b[19] = probe.kind === 'request' ? 1 : 2;
  b.writeUInt32BE(seq, 22);
  b.writeBigUInt64BE(BigInt.asUintN(64, probe.sentNs), 26);
  b.writeBigUInt64BE(BigInt(wallMs), 34);
  b.writeUInt16BE(size, 42);
  return b;
}

/**
 * Decodes a probe frame.
 * @throws WireError TRUNCATED (shorter than the header or its size field), BAD_VALUE (not a probe, unknown kind), BAD_VERSION
 */
export function decodeProbe(frame: Uint8Array): Probe {
  const b = need(frame, 0, PROBE_HEADER_LENGTH, 'probe');
  if (!isProbeFrame(b) || b.readUInt32BE(14) !== MAGIC) throw new WireError('BAD_VALUE', 'not a VTEP probe (MAC, ethertype or magic)');
  if (b[18] !== VERSION) throw new WireError('BAD_VERSION', `probe version ${b[18]}, expected ${VERSION}`);
  const kind = b[19] === 1 ? 'request' : b[19] === 2 ? 'reply' : undefined;
  if (kind === undefined) throw new WireError('BAD_VALUE', `probe kind ${b[19]}`);
  const size = b.readUInt16BE(42);
  if (size < PROBE_HEADER_LENGTH || size > b.length) throw new WireError('TRUNCATED', `probe says ${size} bytes, frame has ${b.length}`);
  const wall = b.readBigUInt64BE(34);
  if (wall > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireError('BAD_VALUE', 'probe wall clock out of range');
  return { kind, seq: b.readUInt32BE(22), sentNs: b.readBigUInt64BE(26), wallMs: Number(wall), size };
}
