/**
 * The per-network tables the data path reads (docs/datapath.md "State the
 * path reads"): the FDB, (vni, MAC) → VTEP, the neighbour table,
 * (vni, IP) → MAC, and on multicast networks the group table, (vni, group
 * MAC) → VTEPs. Keys are kept as lower-case hex of the raw bytes so a
 * packet's own bytes can be looked up without parsing text.
 */
import { formatIp, formatMac, parseIp, parseMac } from '../wire/index.js';

/** Hex key of `len` raw bytes at `offset` (what packet lookups use). */
export const bytesKey = (buf: Uint8Array, offset: number, len: number): string =>
  Buffer.from(buf.buffer, buf.byteOffset + offset, len).toString('hex');

export interface FdbRow {
  vni: number;
  mac: string;
  vtep: string;
}

/** (vni, MAC) → VTEP, with the per-VNI set of VTEPs derived by reference count. */
export class FdbTable {
  private readonly byVni = new Map<number, Map<string, string>>();
  private readonly vtepRefs = new Map<number, Map<string, number>>();

  /** Sets or replaces the VTEP of a MAC. `mac` in text form; `vtep` an IP address. */
  set(vni: number, mac: string, vtep: string): void {
    const key = parseMac(mac).toString('hex');
    const addr = formatIp(parseIp(vtep));
    const table = getOrCreate(this.byVni, vni);
    const old = table.get(key);
    if (old === addr) return;
    if (old !== undefined) this.unref(vni, old);
    table.set(key, addr);
    const refs = getOrCreate(this.vtepRefs, vni);
    refs.set(addr, (refs.get(addr) ?? 0) + 1);
  }

  delete(vni: number, mac: string): boolean {
    const key = parseMac(mac).toString('hex');
    const table = this.byVni.get(vni);
    const old = table?.get(key);
    if (table === undefined || old === undefined) return false;
    table.delete(key);
    this.unref(vni, old);
    if (table.size === 0) this.byVni.delete(vni);
    return true;
  }

  /** The VTEP for the MAC at `buf[offset..offset+6]`, or undefined. */
  lookup(vni: number, buf: Uint8Array, offset: number): string | undefined {
    return this.byVni.get(vni)?.get(bytesKey(buf, offset, 6));
  }

  /** Whether `vtep` (canonical text form) is the VTEP of any entry of the VNI. */
  isVtep(vni: number, vtep: string): boolean {
    return (this.vtepRefs.get(vni)?.get(vtep) ?? 0) > 0;
  }

  /** The VTEPs of the VNI's entries (canonical text form, sorted): where a broadcast goes on a multicast network. */
  vteps(vni: number): string[] {
    return [...(this.vtepRefs.get(vni)?.keys() ?? [])].sort();
  }

  /** Every address that is a VTEP of some network (canonical text form). */
  allVteps(): Set<string> {
    const all = new Set<string>();
    for (const refs of this.vtepRefs.values()) for (const vtep of refs.keys()) all.add(vtep);
    return all;
  }

  deleteVni(vni: number): void {
    this.byVni.delete(vni);
    this.vtepRefs.delete(vni);
  }

  rows(vni?: number): FdbRow[] {
    const out: FdbRow[] = [];
    for (const [v, table] of this.byVni) {
      if (vni !== undefined && v !== vni) continue;
      for (const [key, vtep] of table) out.push({ vni: v, mac: formatMac(Buffer.from(key, 'hex')), vtep });
    }
    return out;
  }

  private unref(vni: number, vtep: string): void {
    const refs = this.vtepRefs.get(vni);
    const n = (refs?.get(vtep) ?? 0) - 1;
    if (refs === undefined) return;
    if (n > 0) refs.set(vtep, n);
    else refs.delete(vtep);
    if (refs.size === 0) this.vtepRefs.delete(vni);
  }
}

export interface NeighbourRow {
  vni: number;
  ip: string;
  mac: string;
}

/** (vni, IPv4 or IPv6 address) → MAC; answers ARP requests and neighbour solicitations. */
export class NeighbourTable {
  private readonly byVni = new Map<number, Map<string, Buffer>>();

  set(vni: number, ip: string, mac: string): void {
    getOrCreate(this.byVni, vni).set(parseIp(ip).toString('hex'), parseMac(mac));
  }

  delete(vni: number, ip: string): boolean {
    const table = this.byVni.get(vni);
    const done = table?.delete(parseIp(ip).toString('hex')) ?? false;
    if (table?.size === 0) this.byVni.delete(vni);
    return done;
  }

  /** The MAC for the address at `buf[offset..offset+len]` (len 4 or 16). */
  lookup(vni: number, buf: Uint8Array, offset: number, len: 4 | 16): Buffer | undefined {
    return this.byVni.get(vni)?.get(bytesKey(buf, offset, len));
  }

  deleteVni(vni: number): void {
    this.byVni.delete(vni);
  }

  rows(vni?: number): NeighbourRow[] {
    const out: NeighbourRow[] = [];
    for (const [v, table] of this.byVni) {
      if (vni !== undefined && v !== vni) continue;
      for (const [key, mac] of table) out.push({ vni: v, ip: formatIp(Buffer.from(key, 'hex')), mac: formatMac(mac) });
    }
    return out;
  }
}

/** (vni, group MAC) → the VTEPs that get that group's frames (rule 5 of MulticastSettings). */
export class GroupTable {
  private readonly byVni = new Map<number, Map<string, string[]>>();

  /**
   * Sets the VTEPs (any address text; kept canonical, sorted, once each) of
   * a group MAC, replacing the previous list; an empty list removes the entry.
   * @throws when `mac` is not a MAC address with the group bit set, or a VTEP is not an address
   */
  set(vni: number, mac: string, vteps: readonly string[]): void {
    const key = parseMac(mac);
    if ((key[0] & 1) === 0) throw new RangeError(`group table: ${mac} is not a group MAC`);
    const list = [...new Set(vteps.map((v) => formatIp(parseIp(v))))].sort();
    const table = getOrCreate(this.byVni, vni);
    if (list.length > 0) table.set(key.toString('hex'), list);
    else table.delete(key.toString('hex'));
    if (table.size === 0) this.byVni.delete(vni);
  }

  /** The VTEPs of the group MAC at `buf[offset..offset+6]`; empty when none. */
  lookup(vni: number, buf: Uint8Array, offset: number): readonly string[] {
    return this.byVni.get(vni)?.get(bytesKey(buf, offset, 6)) ?? [];
  }

  /** The network's entries: group MAC (text) → VTEPs (sorted). */
  entries(vni: number): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [key, vteps] of this.byVni.get(vni) ?? []) out.set(formatMac(Buffer.from(key, 'hex')), [...vteps]);
    return out;
  }

  deleteVni(vni: number): void {
    this.byVni.delete(vni);
  }
}

function getOrCreate<K, V>(map: Map<number, Map<K, V>>, key: number): Map<K, V> {
  let inner = map.get(key);
  if (inner === undefined) map.set(key, (inner = new Map()));
  return inner;
}
