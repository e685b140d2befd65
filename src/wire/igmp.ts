/**
 * IGMP (RFC 2236 version 2, RFC 3376 version 3; version 1 reports of RFC 1112
 * are read too): the messages a snooping switch reads — reports, leaves,
 * other queriers' queries — and the general query a querier sends. Group
 * records are shared with MLD (./multicast.ts).
 */
import { asBuffer, messageLength, requireUint } from './bounds.js';
import { internetChecksum } from './checksum.js';
import { WireError } from './errors.js';
import { formatIp, parseIp } from './ip.js';
import { decodeFloatCode, type GroupRecord, type MembershipMessage } from './multicast.js';

export const IGMP_TYPE = { QUERY: 0x11, V1_REPORT: 0x12, V2_REPORT: 0x16, LEAVE: 0x17, V3_REPORT: 0x22 } as const;
/** An IGMPv2 message (and the fixed part of a v3 query / report). */
export const IGMP_HEADER_LENGTH = 8;
const V3_QUERY_MIN_LENGTH = 12;

/**
 * Decodes the IGMP message at `offset`, `length` bytes long (default: to the
 * end of `buf`; pass the IP payload length). The checksum must be right.
 * @throws WireError TRUNCATED, BAD_CHECKSUM, BAD_LENGTH (records past the end), BAD_VALUE (unknown type)
 */
export function decodeIgmp(buf: Uint8Array, offset = 0, length?: number): MembershipMessage {
  const len = messageLength(buf, offset, length, 'IGMP');
  if (len < IGMP_HEADER_LENGTH) throw new WireError('TRUNCATED', `IGMP: ${len} bytes < ${IGMP_HEADER_LENGTH}`);
  const b = asBuffer(buf).subarray(offset, offset + len);
  if (internetChecksum(b) !== 0) throw new WireError('BAD_CHECKSUM', 'IGMP: bad checksum');
  const group = formatIp(b.subarray(4, 8));
  switch (b[0]) {
    case IGMP_TYPE.QUERY:
      return decodeQuery(b, group);
    case IGMP_TYPE.V1_REPORT:
      return { kind: 'report', version: 1, records: [{ type: 'join', group, sources: [] }] };
    case IGMP_TYPE.V2_REPORT:
      return { kind: 'report', version: 2, records: [{ type: 'join', group, sources: [] }] };
    case IGMP_TYPE.LEAVE:
      return { kind: 'report', version: 2, records: [{ type: 'leave', group, sources: [] }] };
    case IGMP_TYPE.V3_REPORT:
      return { kind: 'report', version: 3, records: decodeV3Records(b) };
    default:
      throw new WireError('BAD_VALUE', `IGMP: type 0x${b[0].toString(16)}`);
  }
}

/** A query: v1 (max resp 0, 8 bytes), v2 (8 bytes), v3 (12 bytes or more; RFC 3376 §7.1). */
function decodeQuery(b: Buffer, group: string): MembershipMessage {
  if (b.length < V3_QUERY_MIN_LENGTH) {
    return { kind: 'query', version: b[1] === 0 ? 1 : 2, group, maxRespMs: (b[1] || 100) * 100, sources: [] };
  }
  const count = b.readUInt16BE(10);
  if (V3_QUERY_MIN_LENGTH + 4 * count > b.length) throw new WireError('BAD_LENGTH', `IGMPv3 query: ${count} sources past the end`);
  const sources = Array.from({ length: count }, (_, i) => formatIp(b.subarray(12 + 4 * i, 16 + 4 * i)));
  return { kind: 'query', version: 3, group, maxRespMs: decodeFloatCode(b[1], 8) * 100, sources };
}

/** The group records of an IGMPv3 report (RFC 3376 §4.2). */
function decodeV3Records(b: Buffer): GroupRecord[] {
  return decodeGroupRecords(b, IGMP_HEADER_LENGTH, b.readUInt16BE(6), 4, 'IGMPv3 report');
}

/**
 * `count` group records from `at`: type, aux length, source count, group,
 * sources, aux data — the same layout in IGMPv3 (4-byte addresses) and MLDv2
 * (16-byte addresses, RFC 3810 §5.2.4).
 * @throws WireError BAD_LENGTH when a record runs past the end, BAD_VALUE for an unknown type
 */
export function decodeGroupRecords(b: Buffer, at: number, count: number, addrLen: 4 | 16, what: string): GroupRecord[] {
  const records: GroupRecord[] = [];
  const head = 4 + addrLen;
  for (let i = 0; i < count; i++) {
    if (at + head > b.length) throw new WireError('BAD_LENGTH', `${what}: record ${i} past the end`);
    const nsrc = b.readUInt16BE(at + 2);
    const end = at + head + addrLen * nsrc + 4 * b[at + 1];
    if (end > b.length) throw new WireError('BAD_LENGTH', `${what}: record ${i} (${nsrc} sources) past the end`);
    const address = (k: number): string => formatIp(b.subarray(at + 4 + addrLen * k, at + 4 + addrLen * (k + 1)));
    records.push({ type: recordType(b[at]), group: address(0), sources: Array.from({ length: nsrc }, (_, k) => address(k + 1)) });
    at = end;
  }
  return records;
}

/** IGMPv3 / MLDv2 record types (RFC 3376 §4.2.12, RFC 3810 §5.2.12) as what they mean for a group. */
export function recordType(code: number): GroupRecord['type'] {
  switch (code) {
    case 1:
      return 'is_include';
    case 2:
      return 'is_exclude';
    case 3:
      return 'to_include';
    case 4:
      return 'to_exclude';
    case 5:
      return 'allow';
    case 6:
      return 'block';
    default:
      throw new WireError('BAD_VALUE', `group record type ${code}`);
  }
}

/**
 * Builds an IGMP query: a general query (`group` 0.0.0.0) or a group-specific
 * one; version 2 (8 bytes) or 3 (12 bytes, no sources, QRV 2, QQIC `intervalS`).
 * `maxRespMs` in 100 ms units, at most 12.7 s (plain code).
 * @throws WireError BAD_VALUE for out-of-range fields
 */
export function encodeIgmpQuery(q: { version: 2 | 3; group?: string; maxRespMs: number; intervalS?: number }): Buffer {
  const code = Math.round(q.maxRespMs / 100);
  requireUint(code, 127, 'IGMP max response (100 ms units)');
  const intervalS = q.intervalS ?? 125;
  requireUint(intervalS, 127, 'IGMP query interval');
  const out = Buffer.alloc(q.version === 3 ? V3_QUERY_MIN_LENGTH : IGMP_HEADER_LENGTH);
  out[0] = IGMP_TYPE.QUERY;
  out[1] = code;
  parseIp(q.group ?? '0.0.0.0').copy(out, 4);
  if (q.version === 3) {
    out[8] = 2; // S = 0, QRV = 2
    out[9] = intervalS;
  }
  out.writeUInt16BE(internetChecksum(out), 2);
  return out;
}

/**
 * Builds an IGMP report: version 2 (a join of `records[0].group`, or a leave),
 * or version 3 with the given records (tests and the differential fixtures).
 * @throws WireError BAD_VALUE for a version-2 record other than join/leave
 */
export function encodeIgmpReport(version: 2 | 3, records: GroupRecord[]): Buffer {
  if (version === 2) {
    const [r] = records;
    if (records.length !== 1 || (r.type !== 'join' && r.type !== 'leave')) throw new WireError('BAD_VALUE', 'IGMPv2: one join or leave');
    const out = Buffer.alloc(IGMP_HEADER_LENGTH);
    out[0] = r.type === 'join' ? IGMP_TYPE.V2_REPORT : IGMP_TYPE.LEAVE;
    parseIp(r.group).copy(out, 4);
    out.writeUInt16BE(internetChecksum(out), 2);
    return out;
  }
  const parts = records.map((r) => encodeRecord(r, 4));
  const out = Buffer.concat([Buffer.alloc(IGMP_HEADER_LENGTH), ...parts]);
  out[0] = IGMP_TYPE.V3_REPORT;
  out.writeUInt16BE(records.length, 6);
  out.writeUInt16BE(internetChecksum(out), 2);
  return out;
}

const RECORD_CODE: Record<string, number> = { is_include: 1, is_exclude: 2, to_include: 3, to_exclude: 4, allow: 5, block: 6 };

/** One IGMPv3 / MLDv2 group record with 4- or 16-byte addresses. */
export function encodeRecord(r: GroupRecord, addrLen: 4 | 16): Buffer {
  const code = RECORD_CODE[r.type];
  if (code === undefined) throw new WireError('BAD_VALUE', `group record type ${r.type} has no v3/v2 code`);
  const out = Buffer.alloc(4 + addrLen * (1 + r.sources.length));
  out[0] = code;
  out.writeUInt16BE(r.sources.length, 2);
  [r.group, ...r.sources].forEach((a, i) => {
    const bytes = parseIp(a);
    if (bytes.length !== addrLen) throw new WireError('BAD_VALUE', `group record address ${a} is not ${addrLen} bytes`);
    bytes.copy(out, 4 + addrLen * i);
  });
  return out;
}
