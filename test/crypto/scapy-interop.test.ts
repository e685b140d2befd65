/**
 * Interop with an independent ESP implementation: scapy's
 * SecurityAssociation (AES-GCM per RFC 4106, esn_en) decrypts the packets we
 * seal and seals packets our openEsp accepts — both carriers (protocol 50 and
 * ESP-in-UDP on a configurable port), both key sizes, both outer families,
 * sequence numbers on both sides of 2^32. The SA derivation is recomputed in
 * Python from docs/encryption.md with the `cryptography` package's HKDF.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type AesKeySize, deriveSa, type EspCarrier, type NetworkKey, openEsp, ReplayWindow, sealEsp, seqHigh, seqLow } from '../../src/crypto/index.js';
import { formatIp, parseIp } from '../../src/wire/index.js';
import { requirement } from '../../src/testkit/ci.js';
import { espOf, findScapyEspPython, icmpEcho, outerPacket, runScapyEsp, tcpSyn, vxlanDatagram } from './support.js';

const python = findScapyEspPython();
const haveScapy = requirement(python !== null, 'python3 with scapy and cryptography (apt-get install python3-scapy)');

interface Case {
  carrier: EspCarrier;
  port: number;
  keySize: AesKeySize;
  src: Buffer;
  dst: Buffer;
  seq: number;
  datagram: Buffer;
}

const networkKey: NetworkKey = { tag: 0xc0ffee01, material: Buffer.from('00112233445566778899aabbccddeeff0123456789abcdef0123456789abcdef', 'hex') };
const families = [
  [parseIp('198.18.0.1'), parseIp('198.18.0.2')],
  [parseIp('2001:db8::1'), parseIp('2001:db8::2')],
] as const;
const seqs = [1, 2 ** 32 + 7, 3 * 2 ** 32 + 0xfffffff0];

const cases: Case[] = [];
for (const carrier of ['ip', 'udp'] as const) {
  for (const keySize of [16, 32] as const) {
    for (const [src, dst] of families) {
      for (const seq of seqs) {
        const n = cases.length;
        const l4 = n % 2 === 0 ? icmpEcho(n) : tcpSyn(40000 + n);
        // Vary the length so every padding class (0..3 bytes) appears.
        const datagram = vxlanDatagram(src, dst, n % 2 === 0 ? 1 : 6, Buffer.concat([l4, Buffer.alloc(n % 4)]));
        cases.push({ carrier, port: n % 3 === 0 ? 4500 : 14789, keySize, src, dst, seq, datagram });
      }
    }
  }
}

const label = (c: Case): string => `${c.carrier}/${c.port} AES-${c.keySize * 8} ${formatIp(c.src)} seq ${c.seq}`;
const saOf = (c: Case) => deriveSa({ key: networkKey, src: c.src, dst: c.dst, keySize: c.keySize });
const hex = (b: Buffer): string => b.toString('hex');

interface Reply {
  derive: { key: string; salt: string; spi: number }[];
  decrypt: ({ payload: string; nh: number; padlen: number; inner: string } | { error: string })[];
  encrypt: { packet: string }[];
}

describe.skipIf(!haveScapy)('ESP interop with scapy', () => {
  let reply: Reply;
  const ours = cases.map((c) => sealEsp(saOf(c), c.seq, c.datagram));
  const fixedIv = (seq: number): string => hex(Buffer.from([seqHigh(seq), seqLow(seq)].flatMap((w) => [w >>> 24, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff])));

  beforeAll(() => {
    const saFields = (c: Case) => {
      const sa = saOf(c);
      return { carrier: c.carrier, port: c.port, spi: sa.spi, key: hex(sa.key), salt: hex(sa.salt), seq: c.seq };
    };
    reply = runScapyEsp<Reply>(python!, {
      derive: cases.map((c) => ({ material: hex(Buffer.from(networkKey.material)), tag: networkKey.tag, src: formatIp(c.src), dst: formatIp(c.dst), keySize: c.keySize })),
      decrypt: cases.map((c, i) => ({ ...saFields(c), packet: hex(outerPacket(c.carrier, c.src, c.dst, ours[i], c.port)) })),
      encrypt: [
        // IV = the sequence number, as overlayd sends: scapy must produce our exact bytes.
        ...cases.map((c) => ({ ...saFields(c), src: formatIp(c.src), dst: formatIp(c.dst), datagram: hex(c.datagram), iv: fixedIv(c.seq) })),
        // scapy's own random IVs.
        ...cases.map((c) => ({ ...saFields(c), src: formatIp(c.src), dst: formatIp(c.dst), datagram: hex(c.datagram), iv: null })),
      ],
    });
  }, 180_000);

  it('derives the same SPI, key and salt from the documented HKDF construction', () => {
    cases.forEach((c, i) => {
      const sa = saOf(c);
      expect(reply.derive[i], label(c)).toEqual({ key: hex(sa.key), salt: hex(sa.salt), spi: sa.spi });
    });
  });

  it('scapy decrypts and authenticates every packet we seal', () => {
    cases.forEach((c, i) => {
      const r = reply.decrypt[i];
      if ('error' in r) throw new Error(`${label(c)}: ${r.error}`);
      expect(r.payload, label(c)).toBe(hex(c.datagram));
      expect(r.nh).toBe(17);
      expect(r.padlen).toBe((4 - ((c.datagram.length + 2) % 4)) % 4);
      expect(r.inner, `${label(c)} (full transport-mode decrypt)`).toBe(hex(c.datagram));
    });
  });

  it('scapy seals the same bytes as sealEsp when its IV is the sequence number', () => {
    cases.forEach((c, i) => {
      const packet = Buffer.from(reply.encrypt[i].packet, 'hex');
      expect(hex(espOf(c.carrier, packet)), label(c)).toBe(hex(ours[i]));
    });
  });

  it('openEsp accepts scapy-sealed packets, with its IVs or random ones, and refuses their replays', () => {
    cases.forEach((c, i) => {
      for (const [kind, packetHex] of [
        ['fixed IV', reply.encrypt[i].packet],
        ['random IV', reply.encrypt[cases.length + i].packet],
      ] as const) {
        const esp = espOf(c.carrier, Buffer.from(packetHex, 'hex'));
        const window = new ReplayWindow();
        // A receiver that has followed the flow so far (needed when the IV does not name the number).
        if (c.seq > 1) window.accept(c.seq - 1);
        const r = openEsp(saOf(c), window, esp);
        if (typeof r === 'string') throw new Error(`${label(c)} ${kind}: ${r}`);
        expect(r.payload.equals(c.datagram), `${label(c)} ${kind}`).toBe(true);
        expect(r.seq).toBe(c.seq);
        expect(openEsp(saOf(c), window, esp)).toBe('esp_replay');
      }
    });
  });

  it('scapy refuses a packet whose ICV we corrupt (the check above is real)', () => {
    const c = cases[1];
    const bad = Buffer.from(ours[1]);
    bad[bad.length - 1] ^= 1;
    const r = runScapyEsp<Reply>(python!, {
      decrypt: [{ carrier: c.carrier, port: c.port, spi: saOf(c).spi, key: hex(saOf(c).key), salt: hex(saOf(c).salt), seq: c.seq, packet: hex(outerPacket(c.carrier, c.src, c.dst, bad, c.port)) }],
    });
    expect(r.decrypt[0]).toHaveProperty('error');
  });
});
