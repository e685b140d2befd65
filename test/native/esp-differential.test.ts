/**
 * The C ESP core (native/esp/esp.c, native/esp/replay.c through NativeEspSa) against
 * the TypeScript reference (src/crypto/esp.ts, replay-window.ts): the same
 * bytes from seal for every payload size 0..1600 and some 9000-byte ones,
 * both key sizes, ESN on and off, sequence numbers around 2^32 boundaries;
 * each side opens the other's packets; and thousands of fresh, reordered,
 * replayed, mutated, truncated and badly padded packets get the same verdict
 * from both, leaving both windows in the same state. Deterministic (seeded).
 */
import { sealPlaintext } from '../../src/testkit/esp.js';
import { describe, expect, it } from 'vitest';
import {
  ESP_DROP_REASONS,
  ESP_GCM_PREFIX_LENGTH,
  type EspDropReason,
  isCryptoError,
  openEsp,
  type OpenedEsp,
  ReplayWindow,
  SecurityAssociation,
  sealedLength,
  sealEsp,
} from '../../src/crypto/index.js';
import { loadEspAddon, NativeEspSa } from '../../src/dataplane/native-esp.js';
import { haveAddon } from './support.js';

const TWO_32 = 2 ** 32;

/** xorshift32: a reproducible stream of 32-bit numbers. */
function rng(seed: number): { u32(): number; below(n: number): number; bytes(n: number): Buffer } {
  let x = seed >>> 0 || 1;
  const u32 = (): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
  return {
    u32,
    below: (n) => Math.floor((u32() / TWO_32) * n),
    bytes: (n) => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = u32() & 0xff;
      return b;
    },
  };
}

interface Pair {
  name: string;
  sa: SecurityAssociation;
  native: NativeEspSa;
  window: ReplayWindow;
  windowSize: number;
}

function pair(keySize: 16 | 32, esn: boolean, seed: number, windowSize = 1024): Pair {
  const r = rng(seed);
  const params = { spi: 256 + r.below(TWO_32 - 256), key: r.bytes(keySize), salt: r.bytes(4), esn };
  return {
    name: `AES-${keySize * 8}, ESN ${esn ? 'on' : 'off'}`,
    sa: new SecurityAssociation(params),
    native: new NativeEspSa({ ...params, windowSize }),
    window: new ReplayWindow(windowSize),
    windowSize,
  };
}

/** Key size, ESN, replay window size. */
const CONFIGS = [
  [16, true, 1024],
  [32, true, 4096],
  [16, false, 2048],
  [32, false, 1024],
] as const;

/** Sequence numbers that exercise the high half: around 2^32 boundaries, and random ones. */
function seqFor(esn: boolean, i: number, r: ReturnType<typeof rng>): number {
  const k = i % 8;
  if (!esn) return [1, 2, TWO_32 - 1, TWO_32 - 2, 1 + r.below(TWO_32 - 1)][k % 5]!;
  const around = [TWO_32, 2 * TWO_32, 0xffff * TWO_32, 2 ** 52][r.below(4)]!;
  if (k < 5) return around - 4 + r.below(9);
  if (k === 5) return 1 + r.below(TWO_32);
  return 1 + Math.floor((r.u32() / TWO_32) * (2 ** 53 - 2));
}

const opened = (r: OpenedEsp | EspDropReason): OpenedEsp => {
  if (typeof r === 'string') throw new Error(`dropped: ${r}`);
  return r;
};

/** Both windows give the same verdict for every number from below the window to above the top. */
function expectSameWindow(p: Pair): void {
  expect(p.native.windowTop).toBe(p.window.top);
  const top = p.window.top;
  const native: number[] = [];
  const ts: number[] = [];
  for (let s = Math.max(0, top - p.windowSize - 40); s <= top + 40; s++) {
    native.push(p.native.verdict(s));
    ts.push(p.window.verdict(s));
  }
  expect(native).toEqual(ts);
}

describe.skipIf(!haveAddon())('native ESP against src/crypto', () => {
  it('names drops as ESP_DROP_REASONS does', () => {
    expect(loadEspAddon().espDropReasons).toEqual(ESP_DROP_REASONS);
  });

  it('refuses what SecurityAssociation, ReplayWindow and sealEsp refuse, with the same codes', () => {
    const key = Buffer.alloc(16, 1);
    const salt = Buffer.alloc(4, 2);
    const code = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        return isCryptoError(e) ? e.code : 'other';
      }
      return 'none';
    };
    expect(code(() => new NativeEspSa({ spi: 0, key, salt }))).toBe('BAD_SA');
    expect(code(() => new NativeEspSa({ spi: 300, key: Buffer.alloc(24), salt }))).toBe('BAD_KEY');
    expect(code(() => new NativeEspSa({ spi: 300, key, salt, windowSize: 1000 }))).toBe('BAD_ARGUMENT');
    const esn = new NativeEspSa({ spi: 300, key, salt });
    const plain = new NativeEspSa({ spi: 300, key, salt, esn: false });
    for (const [n, seq, nh] of [[esn, 0, 17], [esn, 2 ** 53, 17], [esn, 1.5, 17], [plain, TWO_32, 17], [esn, 1, 256], [esn, 1, -1]] as const) {
      const ts = code(() => sealEsp(n.sa, seq, Buffer.alloc(4), nh));
      expect(ts).not.toBe('none');
      expect(code(() => n.seal(seq, Buffer.alloc(4), nh))).toBe(ts);
    }
  });

  for (const [keySize, esn] of CONFIGS) {
    it(`seals the same bytes for payloads of 0..1600 and 9000 bytes, and each side opens the other's (AES-${keySize * 8}, ESN ${esn})`, () => {
      const p = pair(keySize, esn, 0x5eed + keySize + (esn ? 1 : 0));
      const r = rng(keySize * 31 + (esn ? 7 : 0));
      const sizes = [...Array.from({ length: 1601 }, (_, i) => i), 9000, 9000, 9000, 8999, 8998];
      const scratch = Buffer.alloc(sealedLength(9000) + 64);
      sizes.forEach((size, i) => {
        const seq = seqFor(esn, i, r);
        const nh = i % 5 === 0 ? r.below(256) : 17;
        const payload = r.bytes(size);
        const ts = sealEsp(p.sa, seq, payload, nh);
        const native = p.native.seal(seq, payload, nh);
        if (!native.equals(ts)) expect(native.toString('hex')).toBe(ts.toString('hex'));

        // In place: the payload already sits behind 16 bytes of headroom.
        payload.copy(scratch, ESP_GCM_PREFIX_LENGTH);
        const len = p.native.sealInto(seq, scratch.subarray(ESP_GCM_PREFIX_LENGTH, ESP_GCM_PREFIX_LENGTH + size), scratch, nh);
        expect(len).toBe(ts.length);
        expect(scratch.subarray(0, len).equals(ts)).toBe(true);

        // Fresh windows each time: numbers past 2^32 open through the IV resync.
        p.window.reset();
        const byTs = opened(openEsp(p.sa, p.window, native));
        p.native.resetWindow();
        const byNative = opened(p.native.open(ts, { inPlace: i % 2 === 0 }));
        for (const o of [byTs, byNative]) {
          expect(o.seq).toBe(seq);
          expect(o.nextHeader).toBe(nh);
          expect(o.payload.equals(payload)).toBe(true);
        }
      });
    });
  }

  it('resynchronises from the IV in place and into a separate buffer', () => {
    for (const inPlace of [false, true]) {
      const p = pair(16, true, 99);
      const first = sealEsp(p.sa, 10, Buffer.from('first'));
      expect(opened(p.native.open(first, { inPlace })).seq).toBe(10);
      // The window reads lo 20 as 20; the ICV only verifies with 2^32 + 20, which the IV names.
      const far = sealEsp(p.sa, TWO_32 + 20, Buffer.from('far ahead'));
      const r = opened(p.native.open(far, { inPlace }));
      expect(r.seq).toBe(TWO_32 + 20);
      expect(r.payload.toString()).toBe('far ahead');
      expect(p.native.windowTop).toBe(TWO_32 + 20);
      const out = Buffer.from(sealEsp(p.sa, 2 * TWO_32 + 30, Buffer.from('in place')));
      expect(p.native.openInto(out, out.subarray(ESP_GCM_PREFIX_LENGTH))).toBe(8);
      expect(out.subarray(ESP_GCM_PREFIX_LENGTH, ESP_GCM_PREFIX_LENGTH + 8).toString()).toBe('in place');
    }
  });

  for (const [keySize, esn, windowSize] of CONFIGS) {
    it(`drops fresh, reordered, replayed, mutated, truncated and badly padded packets alike (AES-${keySize * 8}, ESN ${esn}, window ${windowSize})`, () => {
      const p = pair(keySize, esn, 0xd00d + keySize + (esn ? 1 : 0), windowSize);
      const r = rng(0xabc + keySize + (esn ? 1 : 0));
      const max = esn ? 2 ** 53 - 1 : TWO_32 - 1;
      let cur = esn ? TWO_32 - 3000 : TWO_32 - 6000;
      const history: Buffer[] = [];
      const seen = new Map<string, number>();
      const count = (k: string): void => void seen.set(k, (seen.get(k) ?? 0) + 1);
      for (let i = 0; i < 4000; i++) {
        const pick = r.below(100);
        let seq: number;
        if (pick < 55) seq = cur + 1 + r.below(3);
        else if (pick < 80) seq = cur - r.below(windowSize + 200);
        else if (pick < 85 && esn) seq = cur + TWO_32 + r.below(2 * windowSize) - windowSize;
        else if (pick < 90) seq = cur + r.below(3 * windowSize);
        else seq = cur + 1;
        seq = Math.min(max, Math.max(1, seq));
        cur = Math.max(cur, Math.min(seq, max - 10 * windowSize));
        let packet = sealEsp(p.sa, seq, r.bytes(r.below(100)), 17);
        const how = r.below(100);
        if (how < 10 && history.length) packet = history[r.below(history.length)]!;
        else if (how < 25) packet[r.below(packet.length)] ^= 1 << r.below(8);
        else if (how < 30) packet = packet.subarray(0, r.below(packet.length));
        else if (how < 35) packet = sealPlaintext(p.sa, seq, Buffer.from([1, 2, 9, 3, 17].slice(r.below(3))));
        else if (how < 38) packet.writeUInt32BE((p.sa.spi ^ 1) >>> 0, 0);
        history.push(packet);
        if (history.length > 64) history.shift();

        const inPlace = i % 3 === 0;
        const ts = openEsp(p.sa, p.window, packet);
        const native = p.native.open(packet, { inPlace });
        expect(native, `packet ${i} seq ${seq} ${packet.toString('hex')}`).toEqual(ts);
        count(typeof ts === 'string' ? ts : 'accepted');
        expect(p.native.windowTop).toBe(p.window.top);
        if (i % 500 === 0) expectSameWindow(p);
      }
      expectSameWindow(p);
      // Every outcome occurred, so none was compared vacuously.
      expect([...seen.keys()].sort()).toEqual([...ESP_DROP_REASONS, 'accepted'].sort());
    });
  }
});
