/**
 * EspSaTable: two hosts derive matching SAs without talking, seal/open across
 * them, follow keyring rotations without losing packets or replay state, and
 * refuse packets from unknown sources or SPIs.
 */
import { describe, expect, it } from 'vitest';
import { EspSaTable, NetworkKeyring } from '../../src/crypto/index.js';
import { parseIp } from '../../src/wire/index.js';
import { opened, testKey } from './support.js';

const A = parseIp('198.18.0.1');
const B = parseIp('198.18.0.2');
const C = parseIp('198.18.0.3');

function pair(keySize: 16 | 32 = 16): { a: EspSaTable; b: EspSaTable; ring: NetworkKeyring } {
  const ring = new NetworkKeyring();
  ring.rotate(testKey(1));
  ring.rotate(testKey(2));
  const a = new EspSaTable({ local: A, keySize });
  const b = new EspSaTable({ local: B, keySize });
  a.addPeer(B);
  b.addPeer(A);
  a.setNetworkKeys(4096, ring.state()!);
  b.setNetworkKeys(4096, ring.state()!);
  return { a, b, ring };
}

describe('EspSaTable', () => {
  it('seals on one host and opens on the other, returning the network and the peer', () => {
    for (const keySize of [16, 32] as const) {
      const { a, b } = pair(keySize);
      const packet = a.seal(4096, B, Buffer.from('datagram'))!;
      const r = opened(b.open(A, packet));
      expect(r.vni).toBe(4096);
      expect(r.peer.equals(A)).toBe(true);
      expect(r.opened.payload.toString()).toBe('datagram');
      expect(r.opened.seq).toBe(1);
      expect(b.open(A, packet)).toBe('esp_replay');
      expect(a.outbound(4096, B)!.sa.keySize).toBe(keySize);
    }
  });

  it('refuses unknown sources, unknown SPIs, and returns undefined for unknown networks or peers', () => {
    const { a, b } = pair();
    const packet = a.seal(4096, B, Buffer.from('x'))!;
    expect(b.open(C, packet)).toBe('esp_bad_spi');
    expect(b.open(A, Buffer.concat([Buffer.from('00000105', 'hex'), packet.subarray(4)]))).toBe('esp_bad_spi');
    expect(b.open(A, packet.subarray(0, 3))).toBe('esp_truncated');
    expect(a.seal(4097, B, Buffer.from('x'))).toBeUndefined();
    expect(a.seal(4096, C, Buffer.from('x'))).toBeUndefined();
  });

  it('follows rotations: old-key packets still open, replay state survives unchanged keys, dropped keys go', () => {
    const { a, b, ring } = pair();
    const before = a.seal(4096, B, Buffer.from('old key'))!;
    opened(b.open(A, before));
    ring.rotate(testKey(3)); // [1, 2*, 3]: sender switches to 2
    b.setNetworkKeys(4096, ring.state()!); // the receiver learns first…
    const late = a.seal(4096, B, Buffer.from('still key 1'))!; // …while the sender still uses key 1
    expect(opened(b.open(A, late)).opened.seq).toBe(2);
    expect(b.open(A, before)).toBe('esp_replay'); // the window of key 1's SA was kept
    a.setNetworkKeys(4096, ring.state()!);
    expect(a.outbound(4096, B)!.sa.keyTag).toBe(2);
    const fresh = a.seal(4096, B, Buffer.from('key 2'))!;
    expect(opened(b.open(A, fresh)).opened.seq).toBe(1);
    ring.rotate(testKey(4)); // [2, 3*, 4]: key 1 leaves the ring
    b.setNetworkKeys(4096, ring.state()!);
    expect(b.open(A, before)).toBe('esp_bad_spi');
    expect([...b.securityAssociations()].map((sa) => sa.keyTag).sort()).toEqual([2, 3, 3, 4]);
  });

  it('keeps networks apart and forgets removed peers and networks', () => {
    const { a, b, ring } = pair();
    const other = new NetworkKeyring();
    other.rotate(testKey(9));
    a.setNetworkKeys(5000, other.state()!);
    b.setNetworkKeys(5000, other.state()!);
    expect(opened(b.open(A, a.seal(5000, B, Buffer.from('n2'))!)).vni).toBe(5000);
    expect(opened(b.open(A, a.seal(4096, B, Buffer.from('n1'))!)).vni).toBe(4096);
    b.removeNetwork(5000);
    expect(b.open(A, a.seal(5000, B, Buffer.from('n2'))!)).toBe('esp_bad_spi');
    b.removePeer(A);
    expect(b.open(A, a.seal(4096, B, Buffer.from('n1'))!)).toBe('esp_bad_spi');
    b.addPeer(A);
    expect(b.open(A, a.seal(4096, B, Buffer.from('n1'))!)).not.toBe('esp_bad_spi');
    expect(ring.sendTag).toBe(1);
  });

  it('hands each outbound SA the caller’s counter options (persisted start, reservations)', () => {
    const reserved: number[] = [];
    const a = new EspSaTable({ local: A, sequenceOptions: () => ({ start: 1000, reserveAhead: 10, reserve: (n) => reserved.push(n) }) });
    const b = new EspSaTable({ local: B });
    a.addPeer(B);
    b.addPeer(A);
    const ring = new NetworkKeyring();
    ring.rotate(testKey(1));
    a.setNetworkKeys(1, ring.state()!);
    b.setNetworkKeys(1, ring.state()!);
    expect(opened(b.open(A, a.seal(1, B, Buffer.from('x'))!)).opened.seq).toBe(1001);
    expect(reserved).toEqual([1010]);
    expect(a.needsRekey()).toBe(false);
  });

  it('refuses bad configuration', () => {
    expect(() => new EspSaTable({ local: Buffer.alloc(5) })).toThrow(expect.objectContaining({ code: 'BAD_SA' }));
    const t = new EspSaTable({ local: A });
    expect(() => t.addPeer(parseIp('2001:db8::1'))).toThrow(expect.objectContaining({ code: 'BAD_SA' }));
    expect(() => t.setNetworkKeys(1, { keys: [testKey(1)], sendTag: 2 })).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
  });
});
