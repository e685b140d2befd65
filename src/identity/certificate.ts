/**
 * Node and CA certificates (docs/identity.md): who a node is (its name), the
 * key it signs with, the underlay addresses it may use as VTEP, the overlay
 * ranges it may take addresses from, and when it is valid — signed by the
 * cluster CA over the canonical encoding (canonical.ts). A CA certificate is
 * self-signed and names no VTEPs.
 *
 *   issue ─► Certificate (plain JSON object, the file's content)
 *   parseCertificate(unknown) ─► Certificate, or IdentityError for anything off
 *   verifyIssued(cert, ca) ─► chains to the CA, or an IdentityError saying why
 */
import { createHash } from 'node:crypto';
import { cidrContains, formatIp, ipFamily, parseCidr, parseIp } from '../wire/index.js';
import { canonicalJson, isCanonicalBase64, signedBytes } from './canonical.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, sign, verify, type SigningKey } from './ed25519.js';
import { IdentityError } from './errors.js';

export const CERT_VERSION = 1;
const CERT_PURPOSE = 'overlayd certificate v1';
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const MAX_LIST = 64;

export interface Certificate {
  version: 1;
  /** The node name (a CA: the cluster's name). */
  name: string;
  ca: boolean;
  /** Ed25519 public key, base64. */
  publicKey: string;
  /** Underlay addresses the node may announce as its VTEP (canonical). A CA: none. */
  vteps: string[];
  /** Overlay ranges its endpoints may take addresses from (canonical CIDRs); none: any. */
  subnets: string[];
  /** Validity, Unix seconds. */
  notBefore: number;
  notAfter: number;
  /** Fingerprint of the CA certificate that signed it (absent on a CA). */
  issuer?: string;
  /** Ed25519 signature by the issuer over the rest, base64. */
  signature: string;
}

export type CertificateBody = Omit<Certificate, 'signature' | 'version'>;

/** Now, in Unix seconds (certificates' time unit). */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
/** Unix seconds as ISO 8601 text without milliseconds (`2026-12-07T17:40:03Z`). */
export const isoSeconds = (s: number): string => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

/** SHA-256 of the certificate's canonical encoding (signature included), hex. */
export function fingerprint(cert: Certificate): string {
  return createHash('sha256').update(canonicalJson(cert)).digest('hex');
}

/** Signs `body` with `issuerKey` (the CA's key; for a CA certificate its own). */
export function issue(body: CertificateBody, issuerKey: SigningKey): Certificate {
  const unsigned = { version: CERT_VERSION, ...body } as const;
  const signature = Buffer.from(sign(issuerKey, signedBytes(CERT_PURPOSE, unsigned))).toString('base64');
  return parseCertificate({ ...unsigned, signature });
}

/** Whether `key` is the key pair whose public half `cert` holds. */
export const certHoldsKey = (cert: Certificate, key: SigningKey): boolean => Buffer.from(key.publicKey).toString('base64') === cert.publicKey;

/** Checks that `cert` was issued by `ca` (fingerprint and signature); validity in time is `validAt`'s. */
export function verifyIssued(cert: Certificate, ca: Certificate): void {
  if (cert.ca) throw new IdentityError('BAD_CERT', `${cert.name}: a CA certificate is not a node certificate`);
  if (cert.issuer !== fingerprint(ca)) throw new IdentityError('WRONG_CA', `certificate of ${cert.name} was issued by another CA (${(cert.issuer ?? '').slice(0, 16)})`);
  if (!verifySignature(cert, ca.publicKey)) throw new IdentityError('BAD_SIGNATURE', `certificate of ${cert.name}: the CA's signature does not verify`);
}

/** Checks a CA certificate's self-signature. */
export function verifySelfSigned(ca: Certificate): void {
  if (!ca.ca || ca.issuer !== undefined) throw new IdentityError('BAD_CERT', `${ca.name}: not a CA certificate`);
  if (!verifySignature(ca, ca.publicKey)) throw new IdentityError('BAD_SIGNATURE', `CA certificate ${ca.name}: its self-signature does not verify`);
}

function verifySignature(cert: Certificate, publicKey: string): boolean {
  const { signature, ...unsigned } = cert;
  return verify(Buffer.from(publicKey, 'base64'), signedBytes(CERT_PURPOSE, unsigned), Buffer.from(signature, 'base64'));
}

/** 'valid', or why not at `nowS` (Unix seconds). */
export function validAt(cert: Certificate, nowS: number): 'valid' | 'not_yet_valid' | 'expired' {
  if (nowS < cert.notBefore) return 'not_yet_valid';
  return nowS >= cert.notAfter ? 'expired' : 'valid';
}

/** Whether the node may use `vtep` as its underlay address. */
export const coversVtep = (cert: Certificate, vtep: string): boolean => ipFamily(vtep) !== 0 && cert.vteps.includes(formatIp(parseIp(vtep)));

/** Whether the node may give `ip` to an endpoint (a certificate without subnets: any). */
export function coversAddress(cert: Certificate, ip: string): boolean {
  if (cert.subnets.length === 0) return true;
  return ipFamily(ip) !== 0 && cert.subnets.some((s) => cidrContains(parseCidr(s), ip));
}

// ---- decoding ---------------------------------------------------------------

const FIELDS = new Set(['version', 'name', 'ca', 'publicKey', 'vteps', 'subnets', 'notBefore', 'notAfter', 'issuer', 'signature']);

/** A certificate from untrusted input (a file, gossip): every field checked, canonical, nothing extra. */
export function parseCertificate(raw: unknown): Certificate {
  const bad = (why: string): never => {
    throw new IdentityError('BAD_CERT', `malformed certificate: ${why}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return bad('not an object');
  const x = raw as Record<string, unknown>;
  const extra = Object.keys(x).find((k) => !FIELDS.has(k) && x[k] !== undefined && x[k] !== null);
  if (extra) bad(`unknown field "${extra.slice(0, 32)}"`);
  if (x.version !== CERT_VERSION) bad(`version ${String(x.version).slice(0, 16)} (this agent knows ${CERT_VERSION})`);
  if (typeof x.name !== 'string' || !NAME_RE.test(x.name)) bad('name');
  if (typeof x.ca !== 'boolean') bad('ca');
  const publicKey = base64Field(x.publicKey, PUBLIC_KEY_BYTES) ?? bad('publicKey');
  const signature = base64Field(x.signature, SIGNATURE_BYTES) ?? bad('signature');
  const vteps = listField(x.vteps, canonicalAddress) ?? bad('vteps');
  const subnets = listField(x.subnets, canonicalCidr) ?? bad('subnets');
  if (!isTime(x.notBefore) || !isTime(x.notAfter) || x.notBefore >= x.notAfter) bad('validity');
  const issuer = x.issuer ?? undefined;
  if (x.ca ? issuer !== undefined || vteps.length > 0 : typeof issuer !== 'string' || !/^[0-9a-f]{64}$/.test(issuer)) bad('issuer');
  const cert: Certificate = {
    version: CERT_VERSION,
    name: x.name as string,
    ca: x.ca as boolean,
    publicKey,
    vteps,
    subnets,
    notBefore: x.notBefore as number,
    notAfter: x.notAfter as number,
    signature,
  };
  if (issuer !== undefined) cert.issuer = issuer as string;
  return cert;
}

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v < 2 ** 40;

const base64Field = (v: unknown, bytes: number): string | undefined => (isCanonicalBase64(v, bytes) ? v : undefined);

function listField(v: unknown, canonical: (s: string) => string | undefined): string[] | undefined {
  if (!Array.isArray(v) || v.length > MAX_LIST) return undefined;
  const out = v.map((s) => (typeof s === 'string' && s.length <= 64 ? canonical(s) : undefined));
  return out.every((s): s is string => s !== undefined) && out.every((s, i) => s === v[i]) ? out : undefined;
}

function canonicalAddress(s: string): string | undefined {
  try {
    return formatIp(parseIp(s));
  } catch {
    return undefined;
  }
}

function canonicalCidr(s: string): string | undefined {
  try {
    return parseCidr(s).text;
  } catch {
    return undefined;
  }
}
