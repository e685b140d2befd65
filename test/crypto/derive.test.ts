/**
 * SA derivation: deterministic, distinct per direction / key / key size,
 * SPI ≥ 256, IPv4 hashed as IPv4-mapped IPv6 — and a fixed vector that
 * docs/encryption.md quotes, so another implementation can check itself.
 */
import { describe, expect, it } from 'vitest';
import {
  address16,
  deriveSa,
  generateNetworkKey,
  isCryptoError,
  keyTagOf,
  MIN_DERIVED_SPI,
  type NetworkKey,
  saDerivationInfo,
  SecurityAssociation,
} from '../../src/crypto/index.js';
import { parseIp } from '../../src/wire/index.js';
import { thrownBy } from './support.js';

const key: NetworkKey = { tag: 1, material: Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex') };
const a = parseIp('198.18.0.1');
const b = parseIp('198.18.0.2');

describe('deriveSa', () => {
  it('matches the vector in docs/encryption.md', () => {
    const sa = deriveSa({ key, src: a, dst: b });
    expect(saDerivationInfo(a, b, 1, 16).toString('hex')).toBe(
      '00000000000000000000ffffc6120001' + '00000000000000000000ffffc6120002' + '00000001' + '0080',
    );
    expect({ spi: sa.spi.toString(16), key: sa.key.toString('hex'), salt: sa.salt.toString('hex') }).toEqual(DOC_VECTOR);
    const sa256 = deriveSa({ key, src: a, dst: b, keySize: 32 });
    expect([sa256.spi.toString(16), sa256.key.toString('hex'), sa256.salt.toString('hex')]).toEqual([
      '291e9244',
      '183d9e1feb85d3a82e07b1cf79c22e8057e04864e41e008d643415af1f650bcc',
      'f68535c0',
    ]);
  });

  it('is deterministic: both ends compute the same SA', () => {
    const x = deriveSa({ key, src: a, dst: b, keySize: 32 });
    const y = deriveSa({ key: { tag: 1, material: Buffer.from(key.material) }, src: Buffer.from(a), dst: Buffer.from(b), keySize: 32 });
    expect([x.spi, x.key.toString('hex'), x.salt.toString('hex')]).toEqual([y.spi, y.key.toString('hex'), y.salt.toString('hex')]);
    expect(x.cipher).toBe('aes-256-gcm');
    expect(x.keyTag).toBe(1);
  });

  it('differs per direction, key tag, key material, key size and address', () => {
    const base = deriveSa({ key, src: a, dst: b });
    const variants = [
      deriveSa({ key, src: b, dst: a }),
      deriveSa({ key: { ...key, tag: 2 }, src: a, dst: b }),
      deriveSa({ key: { tag: 1, material: Buffer.alloc(32, 9) }, src: a, dst: b }),
      deriveSa({ key, src: a, dst: b, keySize: 32 }),
      deriveSa({ key, src: a, dst: parseIp('198.18.0.3') }),
      deriveSa({ key, src: parseIp('2001:db8::1'), dst: b }),
    ];
    for (const v of variants) {
      expect(v.spi).not.toBe(base.spi);
      expect(v.salt.equals(base.salt)).toBe(false);
      expect(v.key.subarray(0, 16).equals(base.key)).toBe(false);
    }
  });

  it('always gives SPIs ≥ 256 and salts unrelated to the SPI (unlike Docker)', () => {
    const spis = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const sa = deriveSa({ key: { tag: i, material: key.material }, src: a, dst: b });
      expect(sa.spi).toBeGreaterThanOrEqual(MIN_DERIVED_SPI);
      expect(sa.spi).toBeLessThanOrEqual(0xffffffff);
      expect(sa.salt.readUInt32BE(0)).not.toBe(sa.spi);
      spis.add(sa.spi);
    }
    expect(spis.size).toBe(500);
  });

  it('hashes IPv4 addresses as IPv4-mapped IPv6', () => {
    expect(address16(a).toString('hex')).toBe('00000000000000000000ffffc6120001');
    const mapped = deriveSa({ key, src: parseIp('::ffff:198.18.0.1'), dst: parseIp('::ffff:198.18.0.2') });
    const plain = deriveSa({ key, src: a, dst: b });
    expect(mapped.spi).toBe(plain.spi);
  });

  it('refuses short key material, bad tags, bad key sizes and bad addresses', () => {
    const bad: [() => unknown, string][] = [
      [() => deriveSa({ key: { tag: 1, material: Buffer.alloc(15) }, src: a, dst: b }), 'BAD_KEY'],
      [() => deriveSa({ key: { tag: -1, material: key.material }, src: a, dst: b }), 'BAD_KEY'],
      [() => deriveSa({ key: { tag: 2 ** 32, material: key.material }, src: a, dst: b }), 'BAD_KEY'],
      [() => deriveSa({ key, src: a, dst: b, keySize: 24 as 16 }), 'BAD_KEY'],
      [() => deriveSa({ key, src: Buffer.alloc(5), dst: b }), 'BAD_SA'],
      [() => new SecurityAssociation({ spi: 0, key: Buffer.alloc(16), salt: Buffer.alloc(4) }), 'BAD_SA'],
      [() => new SecurityAssociation({ spi: 300, key: Buffer.alloc(16), salt: Buffer.alloc(3) }), 'BAD_SA'],
      [() => new SecurityAssociation({ spi: 300, key: Buffer.alloc(24), salt: Buffer.alloc(4) }), 'BAD_KEY'],
    ];
    for (const [fn, code] of bad) {
      const thrown = thrownBy(fn);
      expect(isCryptoError(thrown, code as 'BAD_KEY'), String(thrown)).toBe(true);
    }
  });

  it('generates fresh 32-byte keys, tagged by content unless told', () => {
    const k1 = generateNetworkKey();
    const k2 = generateNetworkKey(77);
    expect(k1.material.length).toBe(32);
    expect(Buffer.from(k1.material).equals(Buffer.from(k2.material))).toBe(false);
    expect(k1.tag).toBe(keyTagOf(k1.material));
    expect(k2.tag).toBe(77);
  });

  it('copies its inputs: later changes to the caller’s buffers do not change the SA', () => {
    const material = Buffer.from(key.material);
    const sa = deriveSa({ key: { tag: 1, material }, src: a, dst: b });
    const before = sa.key.toString('hex');
    material.fill(0);
    expect(sa.key.toString('hex')).toBe(before);
    const raw = new SecurityAssociation({ spi: 999, key: sa.key, salt: sa.salt });
    sa.key.fill(1); // mutating the SA's own copy does not reach `raw`
    expect(raw.key.toString('hex')).toBe(before);
  });
});

/** The derivation vector quoted in docs/encryption.md (key 00..1f, tag 1, 198.18.0.1 → 198.18.0.2, AES-128). */
const DOC_VECTOR = { spi: 'bcc7a145', key: '21fbc3fe37dea3523b8243072e24c872', salt: '72504242' };
