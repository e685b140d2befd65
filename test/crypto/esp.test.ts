/**
 * sealEsp/openEsp: round trips for both key sizes, the wire layout, the
 * determinism the native path will be tested against, and every drop reason
 * for bad input — returned, never thrown.
 */
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  deriveSa,
  ESP_DROP_REASONS,
  ESP_GCM_MIN_LENGTH,
  type EspDropReason,
  isCryptoError,
  type NetworkKey,
  openEsp,
  ReplayWindow,
  SecurityAssociation,
  sealedLength,
  sealEsp,
} from '../../src/crypto/index.js';
import { decodeEsp, parseIp } from '../../src/wire/index.js';
import { opened } from './support.js';

const key: NetworkKey = { tag: 0x01020304, material: Buffer.alloc(32, 0x5a) };
const src = parseIp('198.18.0.1');
const dst = parseIp('198.18.0.2');
const sa16 = deriveSa({ key, src, dst });
const sa32 = deriveSa({ key, src, dst, keySize: 32 });
const datagram = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff));

describe('sealEsp / openEsp', () => {
  for (const sa of [sa16, sa32]) {
    it(`round-trips payloads of every padding class (AES-${sa.keySize * 8})`, () => {
      const w = new ReplayWindow();
      let seq = 0;
      for (const n of [0, 1, 2, 3, 4, 5, 50, 1450, 9000]) {
        const p = datagram(n);
        const packet = sealEsp(sa, ++seq, p);
        expect(packet.length).toBe(sealedLength(n));
        expect((packet.length - 16 - 16) % 4).toBe(0);
        const r = opened(openEsp(sa, w, packet));
        expect(r.payload.equals(p)).toBe(true);
        expect(r.nextHeader).toBe(17);
        expect(r.seq).toBe(seq);
      }
    });
  }

  it('lays out SPI, low sequence half, IV = 64-bit sequence number, ciphertext, ICV', () => {
    const seq = 2 ** 32 * 3 + 9;
    const packet = sealEsp(sa16, seq, datagram(10));
    const parts = decodeEsp(packet);
    expect(parts.spi).toBe(sa16.spi);
    expect(parts.seq).toBe(9);
    expect(parts.iv.toString('hex')).toBe('0000000300000009');
    expect(parts.ciphertext.length).toBe(12);
    expect(parts.icv.length).toBe(16);
    // Confidentiality: the payload does not appear in clear.
    expect(packet.includes(datagram(10))).toBe(false);
  });

  it('is deterministic in (SA, seq, payload, next header), and distinct otherwise', () => {
    const p = datagram(100);
    expect(sealEsp(sa16, 5, p).equals(sealEsp(sa16, 5, p))).toBe(true);
    const twin = new SecurityAssociation({ spi: sa16.spi, key: sa16.key, salt: sa16.salt });
    expect(sealEsp(twin, 5, p).equals(sealEsp(sa16, 5, p))).toBe(true);
    expect(sealEsp(sa16, 6, p).equals(sealEsp(sa16, 5, p))).toBe(false);
    expect(sealEsp(sa16, 5, p, 4).equals(sealEsp(sa16, 5, p))).toBe(false);
    expect(sealEsp(sa32, 5, p).equals(sealEsp(sa16, 5, p))).toBe(false);
  });

  it('carries other next headers (59 = dummy) through', () => {
    const r = opened(openEsp(sa16, new ReplayWindow(), sealEsp(sa16, 1, Buffer.alloc(0), 59)));
    expect(r.nextHeader).toBe(59);
    expect(r.payload.length).toBe(0);
  });

  it('authenticates the high half of the sequence number (ESN AAD)', () => {
    // Same low half and same ciphertext-visible fields, different high half: must not open under the other reading.
    const w = new ReplayWindow();
    const packet = sealEsp(sa16, 2 ** 32 + 1, datagram(20));
    packet.writeUInt32BE(0, 8); // IV high half says 0; AAD said 1
    expect(openEsp(sa16, w, packet)).toBe('esp_bad_icv');
  });

  it('resynchronises a fresh receiver with a sender past 2^32 packets (the IV names the number)', () => {
    const w = new ReplayWindow();
    const seq = 5 * 2 ** 32 + 77;
    expect(opened(openEsp(sa16, w, sealEsp(sa16, seq, datagram(8)))).seq).toBe(seq);
    expect(w.top).toBe(seq);
    expect(opened(openEsp(sa16, w, sealEsp(sa16, seq + 1, datagram(8)))).seq).toBe(seq + 1);
    expect(openEsp(sa16, w, sealEsp(sa16, seq, datagram(8)))).toBe('esp_replay');
  });

  it('accepts packets whose IV is not the sequence number (other implementations), by window inference', () => {
    const w = new ReplayWindow();
    const payload = datagram(6); // 6 + 2 = 8: no padding
    const plain = Buffer.concat([payload, Buffer.from([0, 17])]);
    const r = opened(openEsp(sa16, w, sealRaw(sa16, 7, plain, Buffer.from('a1b2c3d4e5f60718', 'hex'))));
    expect(r.seq).toBe(7);
    expect(r.payload.equals(payload)).toBe(true);
    // The IV is part of the nonce: changing it in flight breaks the ICV.
    const tampered = sealRaw(sa16, 8, plain, Buffer.from('a1b2c3d4e5f60718', 'hex'));
    tampered[15] ^= 1;
    expect(openEsp(sa16, w, tampered)).toBe('esp_bad_icv');
  });

  it('returns the documented reasons for bad input, never throwing', () => {
    const w = new ReplayWindow(1024);
    const good = sealEsp(sa16, 1, datagram(40));
    const cases: [string, Uint8Array, EspDropReason][] = [
      ['empty', Buffer.alloc(0), 'esp_truncated'],
      ['header only', good.subarray(0, 8), 'esp_truncated'],
      ['one byte short of the minimum', good.subarray(0, ESP_GCM_MIN_LENGTH - 1), 'esp_truncated'],
      ['wrong SPI', Buffer.concat([Buffer.from('00000101', 'hex'), good.subarray(4)]), 'esp_bad_spi'],
      ['flipped ICV bit', Buffer.concat([good.subarray(0, good.length - 1), Buffer.from([good[good.length - 1] ^ 0x80])]), 'esp_bad_icv'],
      ['flipped ciphertext bit', Buffer.concat([good.subarray(0, 20), Buffer.from([good[20] ^ 1]), good.subarray(21)]), 'esp_bad_icv'],
      ['cut ICV', good.subarray(0, good.length - 4), 'esp_bad_icv'],
    ];
    for (const [name, packet, reason] of cases) expect(openEsp(sa16, w, packet), name).toBe(reason);
    // None of the failures moved the window: the good packet still opens, once.
    expect(opened(openEsp(sa16, w, good)).seq).toBe(1);
    expect(openEsp(sa16, w, good)).toBe('esp_replay');
  });

  it('drops sequence numbers far outside the window with the right reason', () => {
    const w = new ReplayWindow(1024);
    const old = sealEsp(sa16, 10, datagram(16));
    const behind = sealEsp(sa16, 5000, datagram(16));
    const farAhead = sealEsp(sa16, 2 ** 40, datagram(16));
    expect(opened(openEsp(sa16, w, sealEsp(sa16, 20_000, datagram(16)))).seq).toBe(20_000);
    expect(openEsp(sa16, w, old)).toBe('esp_too_old');
    expect(openEsp(sa16, w, behind)).toBe('esp_too_old');
    expect(opened(openEsp(sa16, w, farAhead)).seq).toBe(2 ** 40);
    expect(openEsp(sa16, w, sealEsp(sa16, 20_000, datagram(16)))).toBe('esp_too_old');
  });

  it('reports esp_bad_padding for an authentic packet with a malformed trailer', () => {
    // A sender (with the key) that writes padding 9, 9 instead of 1, 2: authentic but malformed.
    const w = new ReplayWindow();
    const plainSa = new SecurityAssociation({ spi: 0x1234, key: Buffer.alloc(16, 1), salt: Buffer.alloc(4, 2) });
    const packet = sealEsp(plainSa, 1, datagram(2)); // 2 + 2 trailer = 4: no padding
    expect(opened(openEsp(plainSa, new ReplayWindow(), packet)).payload.length).toBe(2);
    const trailers = [
      [9, 9, 2, 17], // padding bytes not 1, 2
      [0, 0, 200, 17], // pad length past the start
    ];
    trailers.forEach((trailer, i) => {
      const bad = sealRaw(plainSa, 2 + i, Buffer.from(trailer));
      expect(openEsp(plainSa, w, bad)).toBe('esp_bad_padding');
    });
    expect(w.top).toBe(3); // authentic: the window moved (RFC 4303 §3.4.3)
  });

  it('supports classic 32-bit sequence numbers when asked (esn: false)', () => {
    const sa = new SecurityAssociation({ spi: 0x777, key: Buffer.alloc(16, 3), salt: Buffer.alloc(4, 4), esn: false });
    const w = new ReplayWindow();
    expect(opened(openEsp(sa, w, sealEsp(sa, 0xffffffff, datagram(5)))).seq).toBe(0xffffffff);
    expect(() => sealEsp(sa, 2 ** 32, datagram(5))).toThrow(expect.objectContaining({ code: 'BAD_SEQUENCE' }));
    expect(openEsp(sa, w, sealEsp(sa, 5, datagram(5)))).toBe('esp_too_old');
    // The two AAD forms are not interchangeable.
    const esn = new SecurityAssociation({ spi: 0x777, key: Buffer.alloc(16, 3), salt: Buffer.alloc(4, 4) });
    expect(openEsp(esn, new ReplayWindow(), sealEsp(sa, 1, datagram(5)))).toBe('esp_bad_icv');
  });

  it('refuses impossible sequence numbers and next headers on the sending side', () => {
    for (const seq of [0, -1, 1.5, 2 ** 53, Number.NaN]) {
      try {
        sealEsp(sa16, seq, datagram(1));
        throw new Error('no throw');
      } catch (e) {
        expect(isCryptoError(e, 'BAD_SEQUENCE'), String(seq)).toBe(true);
      }
    }
    expect(() => sealEsp(sa16, 1, datagram(1), 256)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
  });

  it('names exactly the six stable drop reasons', () => {
    expect([...ESP_DROP_REASONS].sort()).toEqual(['esp_bad_icv', 'esp_bad_padding', 'esp_bad_spi', 'esp_replay', 'esp_too_old', 'esp_truncated']);
  });
});

/**
 * Encrypts `payload ‖ rawTrailer` as-is (no padding of our own) under `sa`
 * with sequence number `seq`: a packet from a sender that ignores the padding
 * rules. Built with node:crypto directly, following RFC 4106.
 */
function sealRaw(sa: SecurityAssociation, seq: number, plain: Buffer, iv?: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(sa.spi, 0);
  header.writeUInt32BE(seq, 4);
  if (iv) iv.copy(header, 8);
  else header.writeUInt32BE(seq, 12);
  const nonce = Buffer.concat([sa.salt, header.subarray(8, 16)]);
  const aad = Buffer.alloc(12);
  aad.writeUInt32BE(sa.spi, 0);
  aad.writeUInt32BE(seq, 8);
  const c = createCipheriv(sa.cipher, sa.key, nonce, { authTagLength: 16 });
  c.setAAD(aad);
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([header, body, c.getAuthTag()]);
}
