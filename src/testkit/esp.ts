/**
 * ESP packets built by hand for tests and fuzzers, beside what sealEsp
 * makes: the protected UDP header of docs/datapath.md, and packets whose
 * plaintext (payload + trailer) is given as is — what only a sender holding
 * the key can make, e.g. with malformed padding.
 */
import { createCipheriv } from 'node:crypto';
import type { SecurityAssociation } from '../crypto/index.js';

const TWO_32 = 2 ** 32;

/** The protected payload of overlayd's ESP: UDP header (checksum 0) + `vxlan`; `length` overrides the UDP length field. */
export function udpAround(vxlan: Buffer, o: { dport: number; sport?: number; length?: number }): Buffer {
  const out = Buffer.alloc(8 + vxlan.length);
  out.writeUInt16BE(o.sport ?? 49152, 0);
  out.writeUInt16BE(o.dport, 2);
  out.writeUInt16BE(o.length ?? out.length, 4);
  vxlan.copy(out, 8);
  return out;
}

/**
 * An authentic ESP packet of `sa` with sequence number `seq` whose encrypted
 * part is exactly `plain` (no padding or trailer added). RFC 4106, the IV
 * being the 64-bit sequence number, ESN AAD when the SA has ESN.
 */
export function sealPlaintext(sa: SecurityAssociation, seq: number, plain: Buffer): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(sa.spi, 0);
  head.writeUInt32BE(seq % TWO_32, 4);
  head.writeUInt32BE(Math.floor(seq / TWO_32), 8);
  head.writeUInt32BE(seq % TWO_32, 12);
  const aad = sa.esn ? Buffer.concat([head.subarray(0, 4), head.subarray(8, 16)]) : head.subarray(0, 8);
  const cipher = createCipheriv(sa.cipher, sa.key, Buffer.concat([sa.salt, head.subarray(8, 16)]), { authTagLength: 16 });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([head, body, cipher.getAuthTag()]);
}
