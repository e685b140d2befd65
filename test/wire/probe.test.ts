/**
 * The VTEP probe codec (src/wire/probe.ts): the layout of docs/datapath.md
 * "VTEP probes" byte for byte, round trips, refusals of bad arguments, and a
 * decoder that answers garbage — random bytes, truncations and mutations of
 * real probes — with a WireError and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { PROBE_HEADER_LENGTH, PROBE_MAC, decodeProbe, encodeProbe, isProbeFrame, isWireError, type Probe } from '../../src/wire/index.js';
import { prng } from '../../src/testkit/frames.js';

const REQUEST: Probe = { kind: 'request', seq: 0x01020304, sentNs: 0x1122334455667788n, wallMs: 1_765_000_000_123, size: 64 };

describe('VTEP probe codec', () => {
  it('writes the documented layout', () => {
    const b = encodeProbe(REQUEST);
    expect(b.length).toBe(64);
    expect(b.subarray(0, 14).toString('hex')).toBe('026f76707262' + '026f76707262' + '88b5');
    expect(b.subarray(14, 18).toString('latin1')).toBe('OVPB');
    expect([b[18], b[19], b.readUInt16BE(20)]).toEqual([1, 1, 0]);
    expect(b.readUInt32BE(22)).toBe(0x01020304);
    expect(b.readBigUInt64BE(26)).toBe(0x1122334455667788n);
    expect(Number(b.readBigUInt64BE(34))).toBe(1_765_000_000_123);
    expect(b.readUInt16BE(42)).toBe(64);
    expect(b.subarray(PROBE_HEADER_LENGTH).every((x) => x === 0)).toBe(true);
    expect(PROBE_MAC).toBe('02:6f:76:70:72:62');
  });

  it('round-trips requests and replies, small and full-size', () => {
    for (const p of [REQUEST, { ...REQUEST, kind: 'reply' as const, size: 1464 }, { ...REQUEST, size: PROBE_HEADER_LENGTH, seq: 0, sentNs: 0n, wallMs: 0 }]) {
      const b = encodeProbe(p);
      expect(isProbeFrame(b)).toBe(true);
      expect(decodeProbe(b)).toEqual(p);
    }
  });

  it('refuses impossible probes to encode', () => {
    for (const bad of [{ size: 43 }, { size: 65536 }, { seq: -1 }, { seq: 2 ** 32 }, { wallMs: -5 }, { wallMs: 1.5 }]) {
      expect(() => encodeProbe({ ...REQUEST, ...bad })).toThrow(expect.objectContaining({ name: 'WireError' }));
    }
  });

  it('tells a probe from other frames by MAC and ethertype only', () => {
    const b = encodeProbe(REQUEST);
    const otherMac = Buffer.from(b);
    otherMac[5] ^= 1;
    const otherType = Buffer.from(b);
    otherType[13] ^= 1;
    expect([isProbeFrame(otherMac), isProbeFrame(otherType), isProbeFrame(b.subarray(0, 13))]).toEqual([false, false, false]);
  });

  it('names what is wrong with a bad probe', () => {
    const b = encodeProbe(REQUEST);
    const code = (frame: Buffer) => {
      try {
        decodeProbe(frame);
        return 'decoded';
      } catch (err) {
        return isWireError(err) ? err.code : 'other';
      }
    };
    const mutate = (i: number, v: number) => Buffer.from(b).fill(v, i, i + 1);
    expect(code(b.subarray(0, 43))).toBe('TRUNCATED');
    expect(code(mutate(14, 0))).toBe('BAD_VALUE'); // magic
    expect(code(mutate(18, 2))).toBe('BAD_VERSION');
    expect(code(mutate(19, 3))).toBe('BAD_VALUE'); // kind
    expect(code(mutate(43, 65))).toBe('TRUNCATED'); // says 65 bytes, has 64
    expect(code(mutate(34, 0xff))).toBe('BAD_VALUE'); // wall clock beyond 2^53
  });

  it('answers 100,000 garbage frames with a WireError or a probe, never anything else', () => {
    const rand = prng(12);
    const valid = encodeProbe({ ...REQUEST, size: 100 });
    let decoded = 0;
    for (let i = 0; i < 100_000; i++) {
      let frame: Buffer;
      if (i % 2 === 0) {
        frame = Buffer.from(Array.from({ length: Math.floor(rand() * 120) }, () => Math.floor(rand() * 256)));
        if (frame.length >= 14 && i % 4 === 0) Buffer.from(valid.subarray(0, 18)).copy(frame); // past the MAC, ethertype and magic checks
      } else {
        frame = Buffer.from(valid.subarray(0, Math.floor(rand() * (valid.length + 1))));
        for (let k = 0; k < 3 && frame.length > 0; k++) frame[Math.floor(rand() * frame.length)] = Math.floor(rand() * 256);
      }
      try {
        const p = decodeProbe(frame);
        expect(p.size).toBeLessThanOrEqual(frame.length);
        decoded++;
      } catch (err) {
        if (!isWireError(err)) throw err;
      }
    }
    expect(decoded).toBeGreaterThan(0);
  });
});
