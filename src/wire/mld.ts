/**
 * MLD (RFC 2710 version 1, RFC 3810 version 2): IPv6's IGMP, carried in
 * ICMPv6 behind a hop-by-hop header with a router alert. The messages a
 * snooping switch reads, and the general query a querier sends.
 */
import { asBuffer, messageLength, requireUint } from './bounds.js';
import { WireError } from './errors.js';
import { encodeIcmpv6, icmpv6ChecksumValid } from './icmpv6.js';
import { formatIp, parseIp } from './ip.js';
import { decodeGroupRecords, encodeRecord } from './igmp.js';
import { decodeFloatCode, type GroupRecord, type MembershipMessage } from './multicast.js';

export const MLD_TYPE = { QUERY: 130, V1_REPORT: 131, DONE: 132, V2_REPORT: 143 } as const;
/** An MLDv1 message: ICMPv6 header, max response delay, reserved, address. */
export const MLD_V1_LENGTH = 24;
const V2_QUERY_MIN_LENGTH = 28;
const V2_REPORT_HEADER_LENGTH = 8;

/** True for the ICMPv6 types MLD uses. */
export function isMldType(type: number): boolean {
  return type === MLD_TYPE.QUERY || type === MLD_TYPE.V1_REPORT || type === MLD_TYPE.DONE || type === MLD_TYPE.V2_REPORT;
}

/**
 * Decodes the MLD message (the whole ICMPv6 message) at `offset`, `length`
 * bytes, sent from `src` to `dst` (16 bytes each, for the checksum).
 * @throws WireError TRUNCATED, BAD_CHECKSUM, BAD_LENGTH (records past the end), BAD_VALUE (not MLD)
 */
export function decodeMld(src: Uint8Array, dst: Uint8Array, buf: Uint8Array, offset = 0, length?: number): MembershipMessage {
  const len = messageLength(buf, offset, length, 'MLD');
  const b = asBuffer(buf).subarray(offset, offset + len);
  const type = b[0];
  if (!isMldType(type)) throw new WireError('BAD_VALUE', `MLD: ICMPv6 type ${type}`);
  const min = type === MLD_TYPE.V2_REPORT ? V2_REPORT_HEADER_LENGTH : MLD_V1_LENGTH;
  if (len < min) throw new WireError('TRUNCATED', `MLD: ${len} bytes < ${min}`);
  if (!icmpv6ChecksumValid(src, dst, b)) throw new WireError('BAD_CHECKSUM', 'MLD: bad checksum');
  if (type === MLD_TYPE.V2_REPORT) return { kind: 'report', version: 3, records: decodeGroupRecords(b, V2_REPORT_HEADER_LENGTH, b.readUInt16BE(6), 16, 'MLDv2 report') };
  const group = formatIp(b.subarray(8, 24));
  if (type === MLD_TYPE.V1_REPORT) return { kind: 'report', version: 2, records: [{ type: 'join', group, sources: [] }] };
  if (type === MLD_TYPE.DONE) return { kind: 'report', version: 2, records: [{ type: 'leave', group, sources: [] }] };
  return decodeQuery(b, group);
}

/** A query: version 1 (24 bytes) or 2 (28 bytes or more). Versions are reported as IGMP's: MLDv1 ≙ 2, MLDv2 ≙ 3. */
function decodeQuery(b: Buffer, group: string): MembershipMessage {
  const code = b.readUInt16BE(4);
  if (b.length < V2_QUERY_MIN_LENGTH) return { kind: 'query', version: 2, group, maxRespMs: code, sources: [] };
  const count = b.readUInt16BE(26);
  if (V2_QUERY_MIN_LENGTH + 16 * count > b.length) throw new WireError('BAD_LENGTH', `MLDv2 query: ${count} sources past the end`);
  const sources = Array.from({ length: count }, (_, i) => formatIp(b.subarray(28 + 16 * i, 44 + 16 * i)));
  return { kind: 'query', version: 3, group, maxRespMs: decodeFloatCode(code, 16), sources };
}

/**
 * Builds an MLD query (the whole ICMPv6 message) from `src` to `dst`: general
 * (`group` ::) or group-specific; version 1 (24 bytes) or 2 (28 bytes, no
 * sources, QRV 2, QQIC `intervalS`). `maxRespMs` below 32768 (plain code).
 * @throws WireError BAD_VALUE for out-of-range fields or addresses
 */
export function encodeMldQuery(src: Uint8Array, dst: Uint8Array, q: { version: 1 | 2; group?: string; maxRespMs: number; intervalS?: number }): Buffer {
  requireUint(q.maxRespMs, 32767, 'MLD max response delay (ms)');
  const intervalS = q.intervalS ?? 125;
  requireUint(intervalS, 127, 'MLD query interval');
  const body = Buffer.alloc((q.version === 2 ? V2_QUERY_MIN_LENGTH : MLD_V1_LENGTH) - 4);
  body.writeUInt16BE(q.maxRespMs, 0);
  parseIp(q.group ?? '::').copy(body, 4);
  if (q.version === 2) {
    body[20] = 2; // S = 0, QRV = 2
    body[21] = intervalS;
  }
  return encodeIcmpv6(src, dst, { type: MLD_TYPE.QUERY, code: 0 }, body);
}

/**
 * Builds an MLD report (the whole ICMPv6 message): version 1 (a report of
 * `records[0].group`, or a done), or version 2 with the given records.
 * @throws WireError BAD_VALUE for a version-1 record other than join/leave
 */
export function encodeMldReport(src: Uint8Array, dst: Uint8Array, version: 1 | 2, records: GroupRecord[]): Buffer {
  if (version === 1) {
    const [r] = records;
    if (records.length !== 1 || (r.type !== 'join' && r.type !== 'leave')) throw new WireError('BAD_VALUE', 'MLDv1: one join or leave');
    const body = Buffer.alloc(MLD_V1_LENGTH - 4);
    parseIp(r.group).copy(body, 4);
    return encodeIcmpv6(src, dst, { type: r.type === 'join' ? MLD_TYPE.V1_REPORT : MLD_TYPE.DONE, code: 0 }, body);
  }
  const head = Buffer.alloc(V2_REPORT_HEADER_LENGTH - 4);
  head.writeUInt16BE(records.length, 2);
  return encodeIcmpv6(src, dst, { type: MLD_TYPE.V2_REPORT, code: 0 }, Buffer.concat([head, ...records.map((r) => encodeRecord(r, 16))]));
}
