/**
 * Golden tests of every message body against memberlist itself: the Go
 * program encodes the same values with memberlist's `encode()` in this run;
 * our bytes must be identical, Go must decode ours, and we must decode Go's.
 */
import { describe, expect, it } from 'vitest';
import { decodeBody, encodeBody, encodeMessage, MessageType, type BodyKind } from '../../../src/gossip/wire/index.js';
import { goVectors, haveGo, hex, seededBytes, unhex } from './go-vectors.js';

const BYTE_FIELDS = new Set(['SourceAddr', 'Target', 'Payload', 'Addr', 'Meta', 'Vsn', 'Buf']);
const OPTIONAL = new Set(['SourceAddr', 'SourcePort', 'SourceNode']);
const v4 = Buffer.from([198, 18, 0, 1]);
const v6 = Buffer.from('20010db8000000000000000000000001', 'hex');
const vsn = Buffer.from([1, 5, 2, 0, 0, 0]);
const long = 'node-with-a-name-longer-than-thirty-two-bytes';

/** Values per body kind, chosen to hit every msgpack size class Go uses. */
const cases: Array<[BodyKind, Record<string, unknown>]> = [
  [MessageType.Ping, { SeqNo: 0, Node: '' }],
  [MessageType.Ping, { SeqNo: 4294967295, Node: long, SourceAddr: v4, SourcePort: 7946, SourceNode: 'src' }],
  [MessageType.IndirectPing, { SeqNo: 128, Target: v4, Port: 65535, Node: 't', Nack: true, SourceAddr: v6, SourcePort: 1, SourceNode: 'me' }],
  [MessageType.IndirectPing, { SeqNo: 255, Target: v6, Port: 0, Node: '', Nack: false }],
  [MessageType.AckResp, { SeqNo: 256, Payload: Buffer.alloc(0) }],
  [MessageType.AckResp, { SeqNo: 65536, Payload: seededBytes(1, 300) }],
  [MessageType.AckResp, { SeqNo: 127, Payload: seededBytes(2, 70000) }],
  [MessageType.NackResp, { SeqNo: 65535 }],
  [MessageType.Err, { Error: 'boom' }],
  [MessageType.Err, { Error: 'x'.repeat(40) }],
  [MessageType.Suspect, { Incarnation: 1, Node: 'nöde-α', From: 'b' }],
  [MessageType.Dead, { Incarnation: 4000000000, Node: 'a', From: 'a' }],
  [MessageType.Alive, { Incarnation: 1, Node: 'n1', Addr: v4, Port: 7946, Meta: Buffer.alloc(0), Vsn: vsn }],
  [MessageType.Alive, { Incarnation: 70000, Node: long, Addr: v6, Port: 1, Meta: seededBytes(3, 512), Vsn: vsn }],
  [MessageType.PushPull, { Nodes: 0, UserStateLen: 0, Join: false }],
  [MessageType.PushPull, { Nodes: 300, UserStateLen: 70000, Join: true }],
  [MessageType.User, { UserMsgLen: 5 }],
  [MessageType.Compress, { Algo: 0, Buf: seededBytes(4, 31) }],
  ...([0, 1, 2, 3] as const).map(
    (State): [BodyKind, Record<string, unknown>] => ['PushNodeState', { Name: `n${State}`, Addr: v4, Port: 7946, Meta: Buffer.from('m'), Incarnation: 9, State, Vsn: vsn }],
  ),
];

const goType = (kind: BodyKind): number => (kind === 'PushNodeState' ? -1 : kind);

/** Body as Go's encoding/json wants it: []byte as base64, empty as nil (as memberlist leaves it). */
function toGoJson(body: Record<string, unknown>): Record<string, unknown> {
  const goValue = (v: unknown): unknown => (Buffer.isBuffer(v) ? (v.length === 0 ? null : v.toString('base64')) : v);
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, goValue(v)]));
}

/** Comparable form: bytes as hex, empty optional fields dropped. */
function normalise(body: Record<string, unknown>, fromGoJson: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    let value = v;
    if (BYTE_FIELDS.has(k)) value = fromGoJson ? hex(Buffer.from((v as string | null) ?? '', 'base64')) : hex(v as Buffer);
    if (OPTIONAL.has(k) && (value === '' || value === 0)) continue;
    out[k] = value;
  }
  return out;
}

describe.skipIf(!haveGo)('message bodies against memberlist (Go)', () => {
  it('encodes every body byte for byte as memberlist encode()', async () => {
    const answer = await goVectors({ Op: 'encode', Items: cases.map(([kind, body]) => ({ Type: goType(kind), Body: toGoJson(body) })) });
    cases.forEach(([kind, body], i) => {
      expect(answer.Errors![i]).toBe('');
      const ours = kind === 'PushNodeState' ? encodeBody(kind, body) : encodeMessage(kind, body);
      expect(hex(ours), `${String(kind)} #${i}`).toBe(answer.Outputs![i]);
    });
  });

  it('decodes what Go encodes into the same values', async () => {
    const answer = await goVectors({ Op: 'encode', Items: cases.map(([kind, body]) => ({ Type: goType(kind), Body: toGoJson(body) })) });
    cases.forEach(([kind, body], i) => {
      const bytes = unhex(answer.Outputs![i]!);
      const decoded = decodeBody<Record<string, unknown>>(kind, kind === 'PushNodeState' ? bytes : bytes.subarray(1));
      expect(normalise(decoded, false)).toEqual(normalise(body, false));
    });
  });

  it('is decoded by memberlist decode() into the same values', async () => {
    const items = cases.map(([kind, body]) => ({ Type: goType(kind), Hex: hex(encodeBody(kind, body)) }));
    const answer = await goVectors({ Op: 'decode', Items: items });
    cases.forEach(([, body], i) => {
      expect(answer.Errors![i]).toBe('');
      expect(normalise(answer.Decoded![i] as Record<string, unknown>, true)).toEqual(normalise(body, false));
    });
  });

  it('accepts the other integer and string forms Go accepts (uint64, int8, str8, bin)', async () => {
    // {SeqNo: 7 as uint64, Node: "ab" as str8, Payload as bin8} — Go decodes all of them.
    const odd = Buffer.from('82' + 'a55365714e6f' + 'cf0000000000000007' + 'a44e6f6465' + 'd9026162', 'hex');
    const goAnswer = await goVectors({ Op: 'decode', Items: [{ Type: MessageType.Ping, Hex: hex(odd) }] });
    expect(goAnswer.Errors![0]).toBe('');
    expect(decodeBody(MessageType.Ping, odd)).toEqual({ SeqNo: 7, Node: 'ab' });
    // {Payload as bin8, SeqNo as int8}.
    const ack = Buffer.from('82' + 'a75061796c6f6164' + 'c40201ff' + 'a55365714e6f' + 'd005', 'hex');
    expect(decodeBody(MessageType.AckResp, ack)).toEqual({ SeqNo: 5, Payload: Buffer.from([1, 0xff]) });
  });
});
