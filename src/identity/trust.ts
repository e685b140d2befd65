/**
 * What an agent believes about identities: the cluster CA, every node
 * certificate it has seen that chains to it, and the CA's revocations. It
 * answers one question for the cluster layer — who signed this, and is that
 * certificate good now — and signs with this node's own key.
 *
 * Certificates and revocations are self-authenticating (signed by the CA), so
 * they are taken from anyone; a certificate that does not chain to the CA is
 * refused and never kept. Expired and revoked certificates are kept (bounded)
 * so refusals can name the reason.
 */
import { signedBytes } from './canonical.js';
import { fingerprint, isoSeconds as iso, nowSeconds, parseCertificate, validAt, verifyIssued, verifySelfSigned, type Certificate } from './certificate.js';
import { SIGNATURE_BYTES, sign, verify, type SigningKey } from './ed25519.js';
import { IdentityError } from './errors.js';
import { parseRevocation, verifyRevocation, type Revocation } from './revocation.js';

/** Why a signature or a certificate is not believed (`stats` → `cluster.rejected`). */
export type TrustRefusal = 'unsigned' | 'bad_signature' | 'unknown_cert' | 'cert_expired' | 'cert_revoked';

/** A signature on a gossiped entry: the signer's certificate fingerprint and the Ed25519 signature, base64. */
export interface DocumentSignature {
  cert: string;
  s: string;
}

/** Certificates kept per node name (the newest; older ones still verify entries signed before a reload). */
const CERTS_PER_NAME = 4;
/** Certificates and revocations kept at most (the CA issues them, but a CA can be careless). */
const MAX_DOCUMENTS = 20_000;

export interface Admitted<T> {
  doc?: T;
  /** Not seen before. */
  fresh: boolean;
  refusal?: TrustRefusal;
  message?: string;
}

export class TrustStore {
  readonly caFingerprint: string;
  private readonly certs = new Map<string, Certificate>();
  private readonly revoked = new Map<string, Revocation>();
  /** Names that have a certificate kept. */
  private readonly names = new Set<string>();

  constructor(
    readonly ca: Certificate,
    private readonly nowS: () => number = nowSeconds,
  ) {
    verifySelfSigned(ca);
    this.caFingerprint = fingerprint(ca);
  }

  /** Takes a certificate from untrusted input. Kept when it chains to the CA (also expired or revoked: the refusal says so). */
  addCert(raw: unknown): Admitted<Certificate> {
    let cert: Certificate;
    try {
      cert = parseCertificate(raw);
      verifyIssued(cert, this.ca);
    } catch (err) {
      const e = err as IdentityError;
      return { fresh: false, refusal: e.code === 'WRONG_CA' ? 'unknown_cert' : 'bad_signature', message: e.message };
    }
    const fp = fingerprint(cert);
    const fresh = !this.certs.has(fp) && this.certs.size < MAX_DOCUMENTS;
    if (fresh) this.keep(fp, cert);
    const refusal = this.refusalOf(fp);
    return { doc: cert, fresh, refusal, message: refusal && this.describe(fp, refusal) };
  }

  /** Takes a revocation from untrusted input; kept when the CA signed it. */
  addRevocation(raw: unknown): Admitted<Revocation> {
    let r: Revocation;
    try {
      r = parseRevocation(raw);
      verifyRevocation(r, this.ca);
    } catch (err) {
      return { fresh: false, refusal: 'bad_signature', message: (err as Error).message };
    }
    const fresh = !this.revoked.has(r.revoked) && this.revoked.size < MAX_DOCUMENTS;
    if (fresh) this.revoked.set(r.revoked, r);
    return { doc: r, fresh };
  }

  /** Every certificate and revocation kept (push/pull, the state file). */
  certificates(): Certificate[] {
    return [...this.certs.values()];
  }

  revocations(): Revocation[] {
    return [...this.revoked.values()];
  }

  /** Whether a certificate of node `name` is known (good or not): its entries must then be signed. */
  hasCertFor(name: string): boolean {
    return this.names.has(name);
  }

  /** Why the certificate `fp` is not good now, or undefined when it is. */
  refusalOf(fp: string): TrustRefusal | undefined {
    const cert = this.certs.get(fp);
    if (!cert) return 'unknown_cert';
    if (this.revoked.has(fp)) return 'cert_revoked';
    return validAt(cert, this.nowS()) === 'valid' ? undefined : 'cert_expired';
  }

  /** One line for the log: whose certificate and why it is not good. */
  describe(fp: string, refusal: TrustRefusal): string {
    const cert = this.certs.get(fp);
    const who = cert ? `certificate of ${cert.name} (${fp.slice(0, 16)})` : `certificate ${fp.slice(0, 16)}`;
    if (refusal === 'cert_expired' && cert) {
      const when = validAt(cert, this.nowS()) === 'expired' ? `expired at ${iso(cert.notAfter)}` : `not valid before ${iso(cert.notBefore)}`;
      return `${who} ${when}`;
    }
    if (refusal === 'cert_revoked') return `${who} was revoked at ${iso(this.revoked.get(fp)!.revokedAt)}`;
    return `${who}: ${refusal}`;
  }

  /**
   * Who signed `body` as node `owner`: its certificate, or the refusal. The
   * certificate must be known, good now, and carry the owner's name.
   */
  verifySigned(purpose: string, body: unknown, sig: unknown, owner: string): { cert?: Certificate; refusal?: TrustRefusal } {
    const s = sig as Partial<DocumentSignature> | undefined;
    if (s === undefined || s === null) return { refusal: 'unsigned' };
    if (typeof s !== 'object' || typeof s.cert !== 'string' || typeof s.s !== 'string') return { refusal: 'bad_signature' };
    const refusal = this.refusalOf(s.cert);
    if (refusal) return { refusal };
    const cert = this.certs.get(s.cert)!;
    if (cert.name !== owner) return { refusal: 'bad_signature' };
    const signature = Buffer.from(s.s, 'base64');
    let message: Uint8Array;
    try {
      message = signedBytes(purpose, body);
    } catch {
      return { refusal: 'bad_signature' };
    }
    if (signature.length !== SIGNATURE_BYTES || !verify(Buffer.from(cert.publicKey, 'base64'), message, signature)) return { refusal: 'bad_signature' };
    return { cert };
  }

  private keep(fp: string, cert: Certificate): void {
    this.certs.set(fp, cert);
    this.names.add(cert.name);
    const same = [...this.certs].filter(([, c]) => c.name === cert.name).sort(([, a], [, b]) => b.notBefore - a.notBefore);
    for (const [old] of same.slice(CERTS_PER_NAME)) this.certs.delete(old);
  }
}

/** This node's certificate and key: signs what it owns. */
export class Signer {
  readonly fingerprint: string;

  constructor(
    readonly cert: Certificate,
    private readonly key: SigningKey,
  ) {
    if (Buffer.from(key.publicKey).toString('base64') !== cert.publicKey) throw new IdentityError('BAD_KEY', `the key is not the one of the certificate of ${cert.name}`);
    this.fingerprint = fingerprint(cert);
  }

  sign(purpose: string, body: unknown): DocumentSignature {
    return { cert: this.fingerprint, s: Buffer.from(sign(this.key, signedBytes(purpose, body))).toString('base64') };
  }
}

