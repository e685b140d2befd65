/** TCP headers (RFC 9293), decoded for flow hashing, MSS clamping and logs. */
import { need } from './bounds.js';
import { WireError } from './errors.js';

/** TCP flag bits in {@link TcpHeader.flags}. */
export const TCP_FLAG = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;
/** Length of a TCP header without options. */
export const TCP_MIN_HEADER_LENGTH = 20;

/** A decoded TCP header. `options` aliases the input buffer. */
export interface TcpHeader {
  srcPort: number;
  dstPort: number;
  /** Unsigned 32-bit sequence number. */
  seq: number;
  /** Unsigned 32-bit acknowledgement number. */
  ack: number;
  /** Header length in 32-bit words (5..15). */
  dataOffset: number;
  /** Header length in bytes. */
  headerLength: number;
  /** The 9 flag bits (NS at 0x100, then CWR..FIN; see TCP_FLAG). */
  flags: number;
  window: number;
  checksum: number;
  urgent: number;
  /** Option bytes, possibly empty. */
  options: Buffer;
}

/**
 * Decodes the TCP header at `offset`. The checksum is not verified.
 * @throws WireError TRUNCATED (header or options cut short), BAD_LENGTH (data offset < 5)
 */
export function decodeTcp(buf: Uint8Array, offset = 0): TcpHeader {
  const b = need(buf, offset, TCP_MIN_HEADER_LENGTH, 'TCP');
  const dataOffset = b[offset + 12] >> 4;
  if (dataOffset < 5) throw new WireError('BAD_LENGTH', `TCP: data offset ${dataOffset} < 5`);
  const headerLength = dataOffset * 4;
  need(b, offset, headerLength, 'TCP options');
  return {
    srcPort: b.readUInt16BE(offset),
    dstPort: b.readUInt16BE(offset + 2),
    seq: b.readUInt32BE(offset + 4),
    ack: b.readUInt32BE(offset + 8),
    dataOffset,
    headerLength,
    flags: b.readUInt16BE(offset + 12) & 0x01ff,
    window: b.readUInt16BE(offset + 14),
    checksum: b.readUInt16BE(offset + 16),
    urgent: b.readUInt16BE(offset + 18),
    options: b.subarray(offset + TCP_MIN_HEADER_LENGTH, offset + headerLength),
  };
}
