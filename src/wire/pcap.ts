/**
 * Classic libpcap files (https://www.tcpdump.org/manpages/pcap-savefile.5.html):
 * a 24-byte file header, then per packet a 16-byte record header and the
 * captured bytes. Written little-endian with microsecond timestamps; read in
 * either byte order, with microsecond or nanosecond timestamps.
 */
import { asBuffer, requireUint } from './bounds.js';
import { WireError } from './errors.js';

/** Link types: Ethernet frames, or raw IP packets (for outer captures without L2). */
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
/** Magic numbers (as read in the file's byte order). */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
/** Lengths of the file header and of a record header. */
export const PCAP_FILE_HEADER_LENGTH = 24;
export const PCAP_RECORD_HEADER_LENGTH = 16;
/** Default snapshot length, as tcpdump's. */
export const PCAP_DEFAULT_SNAPLEN = 262144;

/**
 * Produces the bytes of a pcap file piece by piece: `header()` once, then
 * `record()` per packet; the caller writes them where it likes. Stateless
 * apart from its settings.
 */
export class PcapWriter {
  /** Link type written in the header (LINKTYPE_ETHERNET by default). */
  readonly linkType: number;
  /** Longest record written; longer packets are cut (their original length is kept). */
  readonly snapLen: number;

  /** @throws WireError BAD_VALUE for a link type or snapshot length outside 32 bits (snapLen ≥ 1) */
  constructor(linkType: number = LINKTYPE_ETHERNET, snapLen: number = PCAP_DEFAULT_SNAPLEN) {
    requireUint(linkType, 0xffffffff, 'pcap link type');
    requireUint(snapLen, 0xffffffff, 'pcap snapshot length');
    if (snapLen === 0) throw new WireError('BAD_VALUE', 'pcap snapshot length must be ≥ 1');
    this.linkType = linkType;
    this.snapLen = snapLen;
  }

  /** The 24-byte file header: magic, version 2.4, zone 0, sigfigs 0, snaplen, link type. */
  header(): Buffer {
    const out = Buffer.alloc(PCAP_FILE_HEADER_LENGTH);
    out.writeUInt32LE(PCAP_MAGIC_US, 0);
    out.writeUInt16LE(2, 4);
    out.writeUInt16LE(4, 6);
    out.writeUInt32LE(this.snapLen, 16);
    out.writeUInt32LE(this.linkType, 20);
    return out;
  }

  /**
   * One record: header (time `timeMs`, default now, in milliseconds since the
   * epoch, fractions kept to the microsecond) and `data` cut to the snapshot length.
   * @throws WireError BAD_VALUE for a negative or non-finite time
   */
  record(data: Uint8Array, timeMs: number = Date.now()): Buffer {
    if (!Number.isFinite(timeMs) || timeMs < 0) throw new WireError('BAD_VALUE', `pcap time ${timeMs} ms`);
    const totalUs = Math.round(timeMs * 1000);
    const captured = Math.min(data.length, this.snapLen);
    const out = Buffer.allocUnsafe(PCAP_RECORD_HEADER_LENGTH + captured);
    out.writeUInt32LE(Math.floor(totalUs / 1e6) % 0x100000000, 0);
    out.writeUInt32LE(totalUs % 1e6, 4);
    out.writeUInt32LE(captured, 8);
    out.writeUInt32LE(data.length, 12);
    asBuffer(data).copy(out, PCAP_RECORD_HEADER_LENGTH, 0, captured);
    return out;
  }
}

/** One packet read from a pcap file. `data` aliases the file buffer. */
export interface PcapPacket {
  /** Capture time in whole microseconds since the epoch (exact: < 2^53). */
  timeUs: number;
  /** The captured bytes (at most the snapshot length). */
  data: Buffer;
  /** Length of the packet on the wire. */
  origLen: number;
}

/** Largest record accepted, whatever the header's snaplen says (guards against garbage lengths). */
const MAX_RECORD_LENGTH = 0x4000000;

/**
 * Parses a whole classic pcap file.
 * @throws WireError TRUNCATED (file or a record cut short), BAD_VALUE (unknown magic),
 *   BAD_VERSION (major version not 2), BAD_LENGTH (a record longer than 64 MiB)
 */
export function readPcap(buf: Buffer): { linkType: number; packets: PcapPacket[] } {
  const b = asBuffer(buf);
  if (b.length < PCAP_FILE_HEADER_LENGTH) throw new WireError('TRUNCATED', `pcap: file of ${b.length} bytes has no header`);
  const magicLE = b.readUInt32LE(0);
  const magicBE = b.readUInt32BE(0);
  let le: boolean;
  let nanos: boolean;
  if (magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS) {
    le = true;
    nanos = magicLE === PCAP_MAGIC_NS;
  } else if (magicBE === PCAP_MAGIC_US || magicBE === PCAP_MAGIC_NS) {
    le = false;
    nanos = magicBE === PCAP_MAGIC_NS;
  } else {
    throw new WireError('BAD_VALUE', `pcap: unknown magic 0x${magicBE.toString(16)}`);
  }
  const u16 = (at: number): number => (le ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const u32 = (at: number): number => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const major = u16(4);
  if (major !== 2) throw new WireError('BAD_VERSION', `pcap: version ${major}.${u16(6)}`);
  // The upper 16 bits of the link-type field may carry FCS information (pcap-linktype(7)).
  const linkType = u32(20) & 0x0fffffff;
  const packets: PcapPacket[] = [];
  for (let at = PCAP_FILE_HEADER_LENGTH; at < b.length; ) {
    if (at + PCAP_RECORD_HEADER_LENGTH > b.length) throw new WireError('TRUNCATED', `pcap: record header at ${at} cut short`);
    const seconds = u32(at);
    const fraction = u32(at + 4);
    const captured = u32(at + 8);
    const origLen = u32(at + 12);
    if (captured > MAX_RECORD_LENGTH) throw new WireError('BAD_LENGTH', `pcap: record of ${captured} bytes at ${at}`);
    const start = at + PCAP_RECORD_HEADER_LENGTH;
    if (start + captured > b.length) throw new WireError('TRUNCATED', `pcap: record of ${captured} bytes at ${at} past end ${b.length}`);
    packets.push({
      timeUs: seconds * 1e6 + (nanos ? Math.floor(fraction / 1000) : fraction),
      data: b.subarray(start, start + captured),
      origLen,
    });
    at = start + captured;
  }
  return { linkType, packets };
}
