/**
 * Inputs of the data-path fuzzer (scripts/fuzz-datapath.ts) made from
 * Ethernet frames and VXLAN datagrams: the header fields worth rewriting in
 * each seed (for wire-mutations.ts's makeInput: bit flips, truncation,
 * extension, splices, field edits), and edits only a frame has — a VLAN tag
 * inserted, an IPv4 flag or fragment offset changed, a MAC replaced.
 */
import { ETHERTYPE, parseMac } from '../../src/wire/index.js';
import { below, pick, type Rng } from './driver.js';
import { makeInput, type Field, type MutationSeeds } from './wire-mutations.js';

/** Offset of the layer-3 header of frame `f`, after up to two VLAN tags (as the parse stage skips them). */
export function l3Offset(f: Buffer): number {
  let off = 12;
  for (let tags = 0; tags < 2 && off + 2 <= f.length; tags++) {
    const type = f.readUInt16BE(off);
    if (type !== ETHERTYPE.VLAN && type !== ETHERTYPE.QINQ) break;
    off += 4;
  }
  return off + 2;
}

/**
 * The fields of frame `f` worth rewriting, at `base` within the buffer that
 * holds it: destination MAC (group bit), source MAC, TPIDs and ethertype, then
 * IPv4 version/IHL, total length, flags/offset, protocol and the first byte
 * after the header; IPv6 version, payload length, next header, hop limit and
 * ICMPv6 type; ARP hardware type, address lengths, op and sender address.
 */
export function frameFields(f: Buffer, base = 0): Field[] {
  const l3 = l3Offset(f);
  const fields: Field[] = [{ at: 0, size: 1 }, { at: 11, size: 1 }, { at: 12, size: 2 }, { at: l3 - 2, size: 2 }];
  const at = (offsets: [number, 1 | 2 | 4][]): void => void fields.push(...offsets.map(([o, size]) => ({ at: l3 + o, size })));
  const type = l3 <= f.length ? f.readUInt16BE(l3 - 2) : -1;
  if (type === ETHERTYPE.IPV4) at([[0, 1], [2, 2], [6, 2], [9, 1], [4 * (f[l3] & 0xf), 1]]);
  if (type === ETHERTYPE.IPV6) at([[0, 1], [4, 2], [6, 1], [7, 1], [40, 1]]);
  if (type === ETHERTYPE.ARP) at([[0, 2], [4, 1], [6, 2], [14, 4]]);
  return fields.filter((x) => x.at + x.size <= f.length).map((x) => ({ at: base + x.at, size: x.size }));
}

/** The fields of VXLAN datagram `d`: flags, VNI, reserved byte, then its inner frame's. */
export const datagramFields = (d: Buffer): Field[] => [
  { at: 0, size: 1 },
  { at: 4, size: 2 },
  { at: 6, size: 1 },
  { at: 7, size: 1 },
  ...frameFields(d.subarray(8), 8),
];

/**
 * Frame `f` (a private copy) with one edit: a VLAN tag inserted before the
 * ethertype or a tag (a third one is more than parse skips), an IPv4 DF, MF
 * or reserved flag toggled or a fragment offset set, or the destination or
 * source MAC replaced by one of `macs`.
 */
export function editFrame(rng: Rng, f: Buffer, macs: readonly string[]): Buffer {
  if (f.length < 14) return f;
  switch (below(rng, 4)) {
    case 0: {
      const at = Math.min(12 + 4 * below(rng, 3), f.length);
      const tag = Buffer.from([0, 0, rng() & 0xff, rng() & 0xff]);
      tag.writeUInt16BE(pick(rng, [ETHERTYPE.VLAN, ETHERTYPE.QINQ]), 0);
      return Buffer.concat([f.subarray(0, at), tag, f.subarray(at)]);
    }
    case 1: {
      const ip = l3Offset(f);
      if (f.length < ip + 8) return f;
      if (below(rng, 4) === 0) f.writeUInt16BE((f.readUInt16BE(ip + 6) & 0xe000) | below(rng, 0x2000), ip + 6);
      else f[ip + 6] ^= pick(rng, [0x40, 0x20, 0x80]); // DF, MF, reserved
      return f;
    }
    default:
      parseMac(pick(rng, macs)).copy(f, below(rng, 2) * 6);
      return f;
  }
}

/** Seeds with their fields, for makeInput; a slot is now and then replaced by a fresh seed. */
export class SeedPool implements MutationSeeds {
  readonly seeds: Buffer[] = [];
  readonly seedFields: Field[][] = [];
  readonly fields: Field[] = [];

  constructor(private readonly fieldsOf: (b: Buffer) => Field[]) {}

  /** Puts `b` in slot `at` (default: a new slot at the end). */
  add(b: Buffer, at = this.seeds.length): void {
    this.seeds[at] = b;
    this.seedFields[at] = this.fieldsOf(b);
  }

  /** A seed unchanged (1 in 4), a seed edited by `edit` (1 in 4), or one made by makeInput. */
  input(rng: Rng, edit: (b: Buffer) => Buffer): Buffer {
    const r = below(rng, 4);
    if (r === 0) return Buffer.from(pick(rng, this.seeds));
    if (r === 1) return edit(Buffer.from(pick(rng, this.seeds)));
    return makeInput(rng, this);
  }
}
