/**
 * MTU arithmetic for both carriers and key sizes, checked against packets
 * actually sealed: at the computed overlay MTU the outer packet fits the
 * underlay exactly or within the alignment slack, one byte more does not.
 */
import { describe, expect, it } from 'vitest';
import { deriveSa, encryptedOverlayMtu, ESP_CARRIERS, espAddedBytes, espOverhead, overlayMtuReduction, sealEsp } from '../../src/crypto/index.js';
import { parseIp } from '../../src/wire/index.js';

const key = { tag: 1, material: Buffer.alloc(32, 1) };

describe('ESP overhead', () => {
  it('states the worst case per carrier: 37 bytes for protocol 50, 45 for ESP-in-UDP, whatever the key size', () => {
    for (const keySize of [16, 32] as const) {
      expect(espOverhead('ip', keySize)).toBe(8 + 8 + 3 + 2 + 16);
      expect(espOverhead('udp', keySize)).toBe(8 + 8 + 8 + 3 + 2 + 16);
    }
  });

  it('gives the documented overlay MTUs and reductions on a 1500-byte underlay', () => {
    expect(encryptedOverlayMtu(1500, 4, 'ip')).toBe(1416);
    expect(encryptedOverlayMtu(1500, 4, 'udp')).toBe(1408);
    expect(encryptedOverlayMtu(1500, 6, 'ip')).toBe(1396);
    expect(encryptedOverlayMtu(1500, 6, 'udp')).toBe(1388);
    expect(encryptedOverlayMtu(9000, 4, 'ip', 32)).toBe(8916);
    expect(overlayMtuReduction(1500, 4, 'ip')).toBe(34);
    expect(overlayMtuReduction(1500, 4, 'udp')).toBe(42);
  });

  it('matches real sealed packets: the largest inner packet fits, one byte more does not', () => {
    for (const family of [4, 6] as const) {
      const [src, dst] = family === 4 ? [parseIp('198.18.0.1'), parseIp('198.18.0.2')] : [parseIp('2001:db8::1'), parseIp('2001:db8::2')];
      for (const carrier of ESP_CARRIERS) {
        for (const keySize of [16, 32] as const) {
          const sa = deriveSa({ key, src, dst, keySize });
          for (const underlay of [1280, 1500, 1501, 1502, 1503, 9000]) {
            const mtu = encryptedOverlayMtu(underlay, family, carrier, keySize);
            const outer = (innerIp: number): number => {
              const datagram = Buffer.alloc(8 + 8 + 14 + innerIp);
              const esp = sealEsp(sa, 1, datagram);
              expect(esp.length - datagram.length).toBe(espAddedBytes(datagram.length, 'ip', keySize));
              return (family === 4 ? 20 : 40) + (carrier === 'udp' ? 8 : 0) + esp.length;
            };
            const what = `IPv${family} ${carrier} AES-${keySize * 8} underlay ${underlay}`;
            expect(outer(mtu), what).toBeLessThanOrEqual(underlay);
            expect(outer(mtu + 1), what).toBeGreaterThan(underlay);
          }
        }
      }
    }
  });

  it('refuses unknown carriers, families, key sizes and tiny underlays', () => {
    expect(() => espOverhead('gre' as 'ip')).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(() => espOverhead('ip', 24 as 16)).toThrow(expect.objectContaining({ code: 'BAD_KEY' }));
    expect(() => encryptedOverlayMtu(1500, 5 as 4, 'ip')).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(() => encryptedOverlayMtu(150, 4, 'ip')).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
  });
});
