/**
 * Shared helpers of the crypto tests: keys and opened packets, a driver for
 * the python3 scapy peer, and the VXLAN datagrams and outer packets the
 * interop tests encrypt.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EspCarrier, NetworkKey } from '../../src/crypto/index.js';
import * as wire from '../../src/wire/index.js';
import { findScapyPython } from '../wire/support.js';

/** A network key with tag `tag` and 32 bytes of `tag` as material. */
export function testKey(tag: number): NetworkKey {
  return { tag, material: Buffer.alloc(32, tag) };
}

/** What an open returned when it opened; throws naming the drop reason when it did not. */
export function opened<T extends object>(r: T | string): T {
  if (typeof r === 'string') throw new Error(`dropped: ${r}`);
  return r;
}

/** What `fn` threw, or undefined when it returned. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** The python3 that imports scapy's IPsec layer and `cryptography`, or null. */
export function findScapyEspPython(): string | null {
  return findScapyPython('scapy.layers.ipsec, cryptography.hazmat.primitives.kdf.hkdf');
}

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** Runs fixtures/scapy_esp.py with `request` on stdin and returns its JSON reply. */
export function runScapyEsp<T>(python: string, request: unknown): T {
  const r = spawnSync(python, [join(FIXTURES, 'scapy_esp.py')], { input: JSON.stringify(request), encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`scapy_esp.py failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** A VXLAN datagram (UDP header + VXLAN + inner Ethernet frame) carrying `inner` IPv4 `protocol` bytes. */
export function vxlanDatagram(outerSrc: Buffer, outerDst: Buffer, protocol: number, l4: Buffer, vni = 4096): Buffer {
  const ip = wire.encodeIPv4({ protocol, src: wire.parseIp('198.19.1.2'), dst: wire.parseIp('198.19.1.3') }, l4);
  const frame = wire.encodeEthernet({ dst: wire.parseMac('02:42:c6:13:01:03'), src: wire.parseMac('02:42:c6:13:01:02'), vlans: [], etherType: wire.ETHERTYPE.IPV4 }, ip);
  return wire.encodeUdp(outerSrc, outerDst, { srcPort: 49152 + (l4.length % 1000), dstPort: wire.VXLAN_DEFAULT_PORT }, wire.encodeVxlan(vni, frame));
}

/** An ICMP echo request to put inside the overlay. */
export const icmpEcho = (seq: number): Buffer => wire.encodeIcmp({ type: 8, code: 0, rest: (0x77 << 16) | seq }, Buffer.alloc(24, 0x61));

/** A TCP SYN (header only, checksum not computed) to put inside the overlay. */
export function tcpSyn(srcPort: number): Buffer {
  const t = Buffer.alloc(20);
  t.writeUInt16BE(srcPort, 0);
  t.writeUInt16BE(80, 2);
  t.writeUInt32BE(0x01020304, 4);
  t[12] = 5 << 4;
  t[13] = 0x02;
  t.writeUInt16BE(64240, 14);
  return t;
}

/** The outer IP packet around an ESP packet, for either carrier and family. */
export function outerPacket(carrier: EspCarrier, src: Buffer, dst: Buffer, esp: Buffer, port: number): Buffer {
  const protocol = carrier === 'ip' ? wire.IP_PROTOCOL.ESP : wire.IP_PROTOCOL.UDP;
  const payload = carrier === 'ip' ? esp : wire.encodeUdp(src, dst, { srcPort: port, dstPort: port }, esp);
  return src.length === 4 ? wire.encodeIPv4({ protocol, src, dst }, payload) : wire.encodeIPv6({ nextHeader: protocol, hopLimit: 64, src, dst }, payload);
}

/** The ESP packet inside an outer IP packet made by {@link outerPacket} (or by scapy). */
export function espOf(carrier: EspCarrier, packet: Buffer): Buffer {
  const ipHeader = packet[0] >> 4 === 6 ? 40 : (packet[0] & 0x0f) * 4;
  return packet.subarray(ipHeader + (carrier === 'udp' ? 8 : 0));
}
