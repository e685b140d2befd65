/**
 * go-msgpack encoding rules and the tolerant decoder, byte by byte.
 * (The Go-produced golden vectors are in bodies.golden.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { decodeBody, decodeMsgpack, decodeMsgpackAt, encodeMsgpack, MessageType } from '../../../src/gossip/wire/index.js';
import { codeOf } from './refusals.js';

const h = (b: Buffer): string => b.toString('hex');
describe('encodeMsgpack (go-msgpack rules)', () => {
  it('writes unsigned integers in the smallest form', () => {
    expect([0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32].map((n) => h(encodeMsgpack(n)))).toEqual([
      '00',
      '7f',
      'cc80',
      'ccff',
      'cd0100',
      'cdffff',
      'ce00010000',
      'ceffffffff',
      'cf0000000100000000',
    ]);
  });

  it('writes negative integers in the smallest signed form', () => {
    expect([-1, -32, -33, -128, -129, -32768, -32769].map((n) => h(encodeMsgpack(n)))).toEqual([
      'ff',
      'e0',
      'd0df',
      'd080',
      'd1ff7f',
      'd18000',
      'd2ffff7fff',
    ]);
  });

  it('writes strings and bytes in the raw family only (fixstr, 0xda, 0xdb), never str8 or bin', () => {
    expect(h(encodeMsgpack('abc'))).toBe('a3616263');
    expect(h(encodeMsgpack(Buffer.alloc(31))).slice(0, 2)).toBe('bf');
    expect(h(encodeMsgpack(Buffer.alloc(32))).slice(0, 6)).toBe('da0020');
    expect(h(encodeMsgpack(Buffer.alloc(255))).slice(0, 6)).toBe('da00ff');
    expect(h(encodeMsgpack(Buffer.alloc(65536))).slice(0, 10)).toBe('db00010000');
  });

  it('writes nil, booleans, arrays and maps in key order', () => {
    expect(h(encodeMsgpack(null))).toBe('c0');
    expect(h(encodeMsgpack([true, false, undefined]))).toBe('93c3c2c0');
    expect(h(encodeMsgpack({ b: 1, a: 2 }))).toBe('82a16201a16102');
    expect(h(encodeMsgpack(Array.from({ length: 16 }, () => 0))).slice(0, 6)).toBe('dc0010');
  });
});

describe('decodeMsgpack (tolerant, raw strings)', () => {
  it('returns strings and binaries as Buffers, never lossy UTF-8', () => {
    const raw = Buffer.from([0xa2, 0xff, 0xfe]);
    expect(decodeMsgpack(raw)).toEqual(Buffer.from([0xff, 0xfe]));
    expect(decodeMsgpack(Buffer.from('d9026869', 'hex'))).toEqual(Buffer.from('hi'));
    expect(decodeMsgpack(Buffer.from('c4026869', 'hex'))).toEqual(Buffer.from('hi'));
  });

  it('reads every integer and float form', () => {
    const forms = ['05', 'cc05', 'cd0005', 'ce00000005', 'cf0000000000000005', 'd005', 'd10005', 'd200000005', 'd30000000000000005'];
    for (const f of forms) expect(decodeMsgpack(Buffer.from(f, 'hex')), f).toBe(5);
    expect(decodeMsgpack(Buffer.from('cb3ff8000000000000', 'hex'))).toBe(1.5);
    expect(decodeMsgpack(Buffer.from('cfffffffffffffffff', 'hex'))).toBe(2n ** 64n - 1n);
  });

  it('reports where a value ends, and TRUNCATED when it does not', () => {
    expect(decodeMsgpackAt(Buffer.from('01a16178', 'hex'), 1)).toEqual({ value: Buffer.from('a'), end: 3 });
    for (const cut of ['a5616263', 'cd01', '92a1', 'da00', 'dc0005', 'df00000001']) {
      expect(codeOf(() => decodeMsgpack(Buffer.from(cut, 'hex'))), cut).toBe('TRUNCATED');
    }
  });

  it('refuses bytes that are not msgpack, ext types and runaway nesting', () => {
    expect(codeOf(() => decodeMsgpack(Buffer.from('c1', 'hex')))).toBe('BAD_MSGPACK');
    expect(codeOf(() => decodeMsgpack(Buffer.from('d40100', 'hex')))).toBe('BAD_MSGPACK');
    expect(codeOf(() => decodeMsgpack(Buffer.alloc(100, 0x91)))).toBe('BAD_MSGPACK');
  });

  it('does not allocate for a count the input cannot hold', () => {
    expect(codeOf(() => decodeMsgpack(Buffer.from('ddffffffff00', 'hex')))).toBe('TRUNCATED');
    expect(codeOf(() => decodeMsgpack(Buffer.from('dbffffffff', 'hex')))).toBe('TRUNCATED');
  });
});

describe('decodeBody field checks', () => {
  it('ignores unknown keys and zero-fills missing ones', () => {
    const body = encodeMsgpack({ Extra: [1, 2], SeqNo: 9 });
    expect(decodeBody(MessageType.Ping, body)).toEqual({ SeqNo: 9, Node: '' });
  });

  it('refuses values that do not fit the Go field type', () => {
    const bad = [
      { SeqNo: -1 },
      { SeqNo: 2 ** 32 },
      { SeqNo: 'seven' },
      { Node: 5 },
      { SeqNo: 1.5 },
    ];
    for (const b of bad) expect(codeOf(() => decodeBody(MessageType.Ping, encodeMsgpack(b))), JSON.stringify(b)).toBe('BAD_FIELD');
    expect(codeOf(() => decodeBody(MessageType.IndirectPing, encodeMsgpack({ Port: 70000 })))).toBe('BAD_FIELD');
    expect(codeOf(() => decodeBody(MessageType.IndirectPing, encodeMsgpack({ Nack: 1 })))).toBe('BAD_FIELD');
    expect(codeOf(() => decodeBody('PushNodeState', encodeMsgpack({ State: 4 })))).toBe('BAD_FIELD');
    expect(codeOf(() => decodeBody(MessageType.Alive, encodeMsgpack([1, 2])))).toBe('BAD_FIELD');
    expect(codeOf(() => decodeBody(MessageType.Alive, encodeMsgpack({ Vsn: [1, 300] })))).toBe('BAD_FIELD');
  });

  it('refuses types that have no body', () => {
    for (const t of [MessageType.Compound, MessageType.Encrypt, MessageType.HasCrc, MessageType.HasLabel, 99 as MessageType]) {
      expect(codeOf(() => decodeBody(t, Buffer.from('80', 'hex')))).toBe('UNKNOWN_TYPE');
    }
  });
});

describe('decodeMsgpack { text: true } (the cluster entries of src/cluster/sync.ts)', () => {
  it('gives strings of every str form as text, bin as Buffer, and round-trips an entry document', () => {
    expect(decodeMsgpack(Buffer.from('a3616263', 'hex'), { text: true })).toBe('abc'); // fixstr
    expect(decodeMsgpack(Buffer.from('d903616263', 'hex'), { text: true })).toBe('abc'); // str8
    expect(decodeMsgpack(Buffer.from('da0003616263', 'hex'), { text: true })).toBe('abc'); // str16
    expect(decodeMsgpack(Buffer.from('c403616263', 'hex'), { text: true })).toEqual(Buffer.from('abc')); // bin8
    expect(decodeMsgpack(Buffer.from('a3616263', 'hex'))).toEqual(Buffer.from('abc')); // default: raw
    const doc = { e: [{ kind: 'network', name: 'blué', subnets: ['198.19.1.0/24'], time: 7, deleted: false, mtu: null }] };
    expect({ ...(decodeMsgpack(encodeMsgpack(doc), { text: true }) as object) }).toEqual(doc);
  });
});
