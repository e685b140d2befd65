/**
 * Revocations: the CA's signed word that a certificate is no longer to be
 * believed (docs/identity.md). Self-authenticating like certificates, so any
 * agent may inject one (`overlayctl ca publish`) and every agent relays them;
 * they are kept (state file) until the revoked certificate would have expired.
 */
import { isCanonicalBase64, signedBytes } from './canonical.js';
import { fingerprint, type Certificate } from './certificate.js';
import { SIGNATURE_BYTES, sign, verify, type SigningKey } from './ed25519.js';
import { IdentityError } from './errors.js';

const PURPOSE = 'overlayd revocation v1';

export interface Revocation {
  version: 1;
  /** Fingerprint of the revoked certificate. */
  revoked: string;
  /** Its node name and expiry, for people and for forgetting the revocation once it no longer matters. */
  name: string;
  notAfter: number;
  /** When it was revoked, Unix seconds. */
  revokedAt: number;
  /** Fingerprint of the CA. */
  issuer: string;
  signature: string;
}

export function revoke(cert: Certificate, ca: Certificate, caKey: SigningKey, nowS: number): Revocation {
  const body = { version: 1 as const, revoked: fingerprint(cert), name: cert.name, notAfter: cert.notAfter, revokedAt: nowS, issuer: fingerprint(ca) };
  return { ...body, signature: Buffer.from(sign(caKey, signedBytes(PURPOSE, body))).toString('base64') };
}

/** Checks that `r` is `ca`'s (fingerprint and signature). */
export function verifyRevocation(r: Revocation, ca: Certificate): void {
  if (r.issuer !== fingerprint(ca)) throw new IdentityError('WRONG_CA', `revocation of ${r.name} was signed by another CA`);
  const { signature, ...body } = r;
  if (!verify(Buffer.from(ca.publicKey, 'base64'), signedBytes(PURPOSE, body), Buffer.from(signature, 'base64'))) {
    throw new IdentityError('BAD_SIGNATURE', `revocation of ${r.name}: the CA's signature does not verify`);
  }
}

const HEX64 = /^[0-9a-f]{64}$/;
const FIELDS = ['version', 'revoked', 'name', 'notAfter', 'revokedAt', 'issuer', 'signature'];

/** A revocation from untrusted input: every field checked, nothing extra. */
export function parseRevocation(raw: unknown): Revocation {
  const x = raw as Record<string, unknown>;
  const ok =
    typeof x === 'object' && x !== null && !Array.isArray(x) &&
    Object.keys(x).every((k) => FIELDS.includes(k)) &&
    x.version === 1 &&
    typeof x.revoked === 'string' && HEX64.test(x.revoked) &&
    typeof x.issuer === 'string' && HEX64.test(x.issuer) &&
    typeof x.name === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(x.name) &&
    Number.isSafeInteger(x.notAfter) && (x.notAfter as number) >= 0 &&
    Number.isSafeInteger(x.revokedAt) && (x.revokedAt as number) >= 0 &&
    isCanonicalBase64(x.signature, SIGNATURE_BYTES);
  if (!ok) throw new IdentityError('BAD_REVOCATION', 'malformed revocation');
  return { version: 1, revoked: x.revoked as string, name: x.name as string, notAfter: x.notAfter as number, revokedAt: x.revokedAt as number, issuer: x.issuer as string, signature: x.signature as string };
}
