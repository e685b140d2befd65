/**
 * The flow hash of docs/datapath.md "Flow hash": FNV-1a 32 over the inner
 * flow's addresses, protocol and ports. It picks the source socket, and so the
 * outer UDP source port, so the underlay can spread flows (RFC 7348 §5) while
 * one flow stays on one path, in order.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnv(hash: number, buf: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ buf[i], FNV_PRIME);
  return hash;
}

const PORTED = (proto: number): boolean => proto === 6 || proto === 17 || proto === 132;

/** Hash of the frame whose inner ethertype is `etherType`, L3 starting at `l3off`. */
export function flowHash(frame: Uint8Array, l3off: number, etherType: number): number {
  const len = frame.length;
  let h = FNV_OFFSET;
  if (etherType === 0x0800 && len >= l3off + 20) {
    h = fnv(h, frame, l3off + 12, l3off + 20);
    const proto = frame[l3off + 9];
    h = fnv(h, frame, l3off + 9, l3off + 10);
    const ihl = frame[l3off] & 0x0f;
    const fragment = ((frame[l3off + 6] << 8) | frame[l3off + 7]) & 0x3fff;
    const l4 = l3off + ihl * 4;
    if (PORTED(proto) && fragment === 0 && ihl >= 5 && len >= l4 + 4) h = fnv(h, frame, l4, l4 + 4);
  } else if (etherType === 0x86dd && len >= l3off + 40) {
    h = fnv(h, frame, l3off + 8, l3off + 40);
    const nh = frame[l3off + 6];
    h = fnv(h, frame, l3off + 6, l3off + 7);
    if (PORTED(nh) && len >= l3off + 44) h = fnv(h, frame, l3off + 40, l3off + 44);
  } else {
    h = fnv(h, frame, 0, 12);
    h = Math.imul(h ^ (etherType >>> 8), FNV_PRIME);
    h = Math.imul(h ^ (etherType & 0xff), FNV_PRIME);
  }
  return h >>> 0;
}
