/**
 * The cluster CA's operations as `overlayctl ca` runs them, on a CA folder:
 *
 *   DIR/ca.crt                 the CA certificate (self-signed)
 *   DIR/ca.key                 its Ed25519 key (0600; keep this folder offline)
 *   DIR/revoked/NAME-FP.json   revocations written by `ca revoke`
 *
 * Node certificates go where `--out` says, their key beside them (FILE with
 * `.key` for `.crt`).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatIp, parseCidr, parseIp } from '../wire/index.js';
import { fingerprint, issue, nowSeconds as nowS, verifyIssued, verifySelfSigned, type Certificate } from './certificate.js';
import { newKey, type SigningKey } from './ed25519.js';
import { IdentityError } from './errors.js';
import { readCertificate, readKey, writeDocument, writeKey } from './files.js';
import { revoke, type Revocation } from './revocation.js';

export const DAY_S = 86_400;

export interface CaFiles {
  cert: string;
  key: string;
}

export const caFiles = (dir: string): CaFiles => ({ cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') });

/** Makes a CA in `dir` (refused when one is there already). */
export function initCa(dir: string, name: string, days: number): Certificate {
  checkDays(days);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = newKey();
  const t = nowS();
  const ca = issue({ name, ca: true, publicKey: b64(key.publicKey), vteps: [], subnets: [], notBefore: t, notAfter: t + days * DAY_S }, key);
  const files = caFiles(dir);
  writeKey(files.key, key);
  writeDocument(files.cert, ca);
  return ca;
}

/** The CA of `dir`, checked: its certificate verifies and its key is the certificate's. */
export function loadCa(dir: string): { ca: Certificate; key: SigningKey } {
  const files = caFiles(dir);
  const ca = readCertificate(files.cert);
  verifySelfSigned(ca);
  const key = readKey(files.key);
  if (b64(key.publicKey) !== ca.publicKey) throw new IdentityError('BAD_KEY', `${files.key} is not the key of ${files.cert}`);
  return { ca, key };
}

export interface SignRequest {
  name: string;
  vteps: string[];
  subnets?: string[];
  days: number;
}

/** A node certificate and its fresh key; the certificate expires no later than the CA. */
export function signNode(dir: string, req: SignRequest): { cert: Certificate; key: SigningKey } {
  const { ca, key: caKey } = loadCa(dir);
  checkDays(req.days);
  if (req.vteps.length === 0) throw new IdentityError('BAD_REQUEST', 'a node certificate needs at least one --vtep');
  const key = newKey();
  const t = nowS();
  const cert = issue(
    {
      name: req.name,
      ca: false,
      publicKey: b64(key.publicKey),
      vteps: req.vteps.map(canonical(formatIpText, 'VTEP address')),
      subnets: (req.subnets ?? []).map(canonical((s) => parseCidr(s).text, 'subnet')),
      notBefore: t,
      notAfter: Math.min(t + req.days * DAY_S, ca.notAfter),
      issuer: fingerprint(ca),
    },
    caKey,
  );
  return { cert, key };
}

/** A revocation of `cert`, signed by the CA of `dir`, written to DIR/revoked/; returns it and its path. */
export function revokeCert(dir: string, cert: Certificate): { revocation: Revocation; path: string } {
  const { ca, key } = loadCa(dir);
  verifyIssued(cert, ca);
  const revocation = revoke(cert, ca, key, nowS());
  mkdirSync(join(dir, 'revoked'), { recursive: true, mode: 0o700 });
  const path = join(dir, 'revoked', `${cert.name}-${revocation.revoked.slice(0, 16)}.json`);
  writeDocument(path, revocation);
  return { revocation, path };
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const formatIpText = (s: string): string => formatIp(parseIp(s));

function canonical(fn: (s: string) => string, what: string): (s: string) => string {
  return (s) => {
    try {
      return fn(s.trim());
    } catch {
      throw new IdentityError('BAD_REQUEST', `invalid ${what} "${s}"`);
    }
  };
}

function checkDays(days: number): void {
  if (!Number.isInteger(days) || days < 1 || days > 36_500) throw new IdentityError('BAD_REQUEST', `--days must be 1..36500, got ${days}`);
}
