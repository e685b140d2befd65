/**
 * What a capture takes (`overlayctl capture`, docs/debugging.md), the same in
 * both data paths (native/io/capture.c is the C twin): the inner frames at
 * the TAP and/or the packets as they crossed the underlay, only those whose
 * inner source or destination is `host` and whose remote VTEP is `vtep`.
 */
import { formatIp, parseIp } from '../wire/index.js';

/** What a network's capture mirrors. */
export interface CaptureSpec {
  /** The inner Ethernet frames, as the containers see them. */
  inner: boolean;
  /**
   * The packets as they crossed the underlay: the UDP payload (VXLAN, or ESP
   * in UDP) with its real ports, or the ESP packet of IP protocol 50; sent
   * ones as handed to the socket, received ones before they are opened or
   * decapsulated.
   */
  outer: boolean;
  /** Only frames whose inner IPv4/IPv6 source or destination (ARP: sender or target) is this address. */
  host?: string;
  /** Only packets sent to or received from this VTEP. */
  vtep?: string;
}

const TPIDS = new Set([0x8100, 0x88a8]);

/** A {@link CaptureSpec} with its addresses parsed, matching frames and VTEPs. */
export class CaptureFilter {
  private readonly host?: Uint8Array;
  private readonly vtep?: string;

  /** @throws WireError when `host` or `vtep` is not an IP address */
  constructor(readonly spec: CaptureSpec) {
    if (spec.host !== undefined) this.host = parseIp(spec.host);
    if (spec.vtep !== undefined) this.vtep = formatIp(parseIp(spec.vtep));
  }

  /** Whether a host filter is set. */
  get filtersHost(): boolean {
    return this.host !== undefined;
  }

  /** Whether the inner frame's source or destination is the host (always without a host filter). */
  hostMatches(frame: Uint8Array): boolean {
    const host = this.host;
    if (host === undefined) return true;
    if (frame.length < 14) return false;
    let off = 12;
    let type = (frame[off] << 8) | frame[off + 1];
    for (let tags = 0; tags < 2 && TPIDS.has(type) && off + 6 <= frame.length; tags++) {
      off += 4;
      type = (frame[off] << 8) | frame[off + 1];
    }
    const l3 = off + 2;
    const at = (start: number): boolean => start + host.length <= frame.length && host.every((b, i) => frame[start + i] === b);
    if (type === 0x0800 && frame.length >= l3 + 20 && host.length === 4) return at(l3 + 12) || at(l3 + 16);
    if (type === 0x86dd && frame.length >= l3 + 40 && host.length === 16) return at(l3 + 8) || at(l3 + 24);
    if (type === 0x0806 && frame.length >= l3 + 28 && host.length === 4) return at(l3 + 14) || at(l3 + 24);
    return false;
  }

  /** Whether `vtep` (canonical text) is the capture's VTEP (always without a VTEP filter). */
  vtepMatches(vtep: string | undefined): boolean {
    return this.vtep === undefined || vtep === this.vtep;
  }
}
