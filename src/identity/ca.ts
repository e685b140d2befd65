/**
 * The cluster CA's operations as `overlayctl ca` runs them, on a CA folder:
 *
 *   DIR/ca.crt                 the CA certificate (self-signed)
 *   DIR/ca.key                 its Ed25519 key (0600; keep this folder offline)
 *   DIR/revoked/NAME-FP.json   revocations written by `ca revoke`
 *   DIR/issued/NAME-FP.json    every node certificate `ca sign` issued
 *
 * The register of issued certificates keeps node ranges disjoint: a node
 * whose range no other node's certificate covers is the only one that can
 * claim those addresses, so no back-dated claim can take them (docs/identity.md
 * "Claims").
 *
 * Node certificates go where `--out` says, their key beside them (FILE with
 * `.key` for `.crt`).
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cidrOverlaps, formatIp, parseCidr, parseIp } from '../wire/index.js';
import { fingerprint, issue, isoSeconds, nowSeconds as nowS, validAt, verifyIssued, verifySelfSigned, type Certificate } from './certificate.js';
import { newKey, type SigningKey } from './ed25519.js';
import { IdentityError } from './errors.js';
import { readCertificate, readKey, readRevocation, writeDocument, writeKey } from './files.js';
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
  /** Issue even when `subnets` overlap another node's live certificate (the claims rule then falls back to the stamps). */
  allowOverlap?: boolean;
}

/** A node certificate and its fresh key; the certificate expires no later than the CA. */
export function signNode(dir: string, req: SignRequest): { cert: Certificate; key: SigningKey } {
  const { ca, key: caKey } = loadCa(dir);
  checkDays(req.days);
  if (req.vteps.length === 0) throw new IdentityError('BAD_REQUEST', 'a node certificate needs at least one --vtep');
  const subnets = (req.subnets ?? []).map(canonical((s) => parseCidr(s).text, 'subnet'));
  const t = nowS();
  if (!req.allowOverlap) checkDisjoint(dir, req.name, subnets, t);
  const key = newKey();
  const cert = issue(
    {
      name: req.name,
      ca: false,
      publicKey: b64(key.publicKey),
      vteps: req.vteps.map(canonical(formatIpText, 'VTEP address')),
      subnets,
      notBefore: t,
      notAfter: Math.min(t + req.days * DAY_S, ca.notAfter),
      issuer: fingerprint(ca),
    },
    caKey,
  );
  mkdirSync(join(dir, ISSUED), { recursive: true, mode: 0o700 });
  writeDocument(join(dir, ISSUED, `${cert.name}-${fingerprint(cert).slice(0, 16)}.json`), cert);
  return { cert, key };
}

const ISSUED = 'issued';

/** The documents of one folder of the CA (none when it does not exist). */
function documents<T>(dir: string, read: (path: string) => T): T[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => read(join(dir, f)));
}

/**
 * Refuses `subnets` for node `name` when they overlap a range of another
 * node's certificate that is still valid and not revoked (a renewal of the
 * same node may keep its range).
 */
function checkDisjoint(dir: string, name: string, subnets: string[], t: number): void {
  if (subnets.length === 0) return;
  const revoked = new Set(documents(join(dir, 'revoked'), readRevocation).map((r) => r.revoked));
  for (const other of documents(join(dir, ISSUED), readCertificate)) {
    if (other.name === name || validAt(other, t) !== 'valid' || revoked.has(fingerprint(other))) continue;
    for (const mine of subnets) {
      const theirs = other.subnets.find((o) => cidrOverlaps(parseCidr(mine), parseCidr(o)));
      if (theirs === undefined) continue;
      throw new IdentityError(
        'BAD_REQUEST',
        `--subnets ${mine} overlaps ${theirs} of ${other.name} (certificate ${fingerprint(other).slice(0, 16)}, valid until ${isoSeconds(other.notAfter)}): ` +
          'give each node a range of its own, so that no member can claim another\'s addresses; revoke that certificate first, or pass --allow-overlap',
      );
    }
  }
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
