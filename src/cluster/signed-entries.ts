/**
 * Node identity in the overlay state (docs/identity.md): every entry this
 * node writes is signed with its certificate's key over the canonical
 * encoding; every entry received is admitted only when a certificate that
 * chains to the CA, is not expired or revoked and carries the entry's owner
 * name signed it, and — for an endpoint — that certificate covers its VTEP
 * and its addresses; for a multicast group entry, its VTEP.
 *
 *   gossip message { e: entries, c: certificates, r: revocations }
 *     c, r ─► receive: trust store (verified against the CA) ─► fresh ones relayed;
 *             entries parked for want of a certificate are tried again
 *     e ─► store.merge ─► guard.admit (this file) ─► store's own checks
 *   store.visible ─► guard.trusted: the signer's certificate is still good
 *                    (a revocation or an expiry hides the node's endpoints)
 *
 * The store holds an EntryGuard; without a CA it is OPEN_GUARD (everything
 * as before signing existed).
 */
import { coversAddress, coversVtep, fingerprint, type Certificate, type Revocation, type Signer, type TrustRefusal, type TrustStore } from '../identity/index.js';
import { entryKey, type Entry } from './entries.js';

/** The purpose label of entry signatures (canonical.ts). */
export const ENTRY_PURPOSE = 'overlayd entry v1';

/** Why an entry or a credential was refused for identity reasons (`stats` → `cluster.rejected`). */
export type IdentityReason = TrustRefusal | 'vtep_not_in_cert' | 'address_not_in_cert' | 'not_owner';
export const IDENTITY_REASONS: readonly IdentityReason[] = ['unsigned', 'bad_signature', 'unknown_cert', 'cert_expired', 'cert_revoked', 'vtep_not_in_cert', 'address_not_in_cert', 'not_owner'];

/** What the store asks about entries. */
export interface EntryGuard {
  /** Why a received entry may not be stored (`cur`: the version held now), or undefined. */
  admit(e: Entry, cur: Entry | undefined): IdentityReason | undefined;
  /** The entry as this node announces it (signed). */
  sign<T extends Entry>(e: T): T;
  /** Whether a stored entry of another node may reach the tables now. */
  trusted(e: Entry): boolean;
  /** The overlay ranges this node may take addresses from (its certificate's subnets); none: any. */
  ranges(): readonly string[];
}

export const OPEN_GUARD: EntryGuard = { admit: () => undefined, sign: (e) => e, trusted: () => true, ranges: () => [] };

/** Certificates and revocations as gossip carries them. */
export interface Credentials {
  c: Certificate[];
  r: Revocation[];
}

/** A refusal, for the agent's event and log line. */
export interface IdentityRefusal {
  reason: IdentityReason;
  what: 'entry' | 'certificate' | 'revocation';
  /** The node the refused thing claims to come from. */
  node?: string;
  message: string;
}

/** Entries kept while their signer's certificate has not arrived yet. */
const MAX_PARKED = 4096;

export class SignedEntries implements EntryGuard {
  private readonly parked = new Map<string, Entry>();

  constructor(
    readonly trust: TrustStore,
    private signer: Signer,
    /** Refuse unsigned entries of every node (else only of nodes that have a certificate: the migration). */
    readonly requireSigned: boolean,
    private readonly onRefuse: (r: IdentityRefusal) => void,
  ) {
    trust.addCert(signer.cert);
  }

  get cert(): Certificate {
    return this.signer.cert;
  }

  /** Signs with a renewed certificate from now on (`overlayctl cert reload`). */
  setSigner(signer: Signer): void {
    this.signer = signer;
    this.trust.addCert(signer.cert);
  }

  /** Whether this node's current key signed `e`. */
  signedByMe(e: Entry): boolean {
    return e.sig?.cert === this.signer.fingerprint;
  }

  admit(e: Entry, cur: Entry | undefined): IdentityReason | undefined {
    if (e.kind !== 'network' && cur && cur.owner !== e.owner) return this.refuse('not_owner', e, `it belongs to ${cur.owner}`);
    const { sig, ...body } = e;
    const { cert, refusal } = this.trust.verifySigned(ENTRY_PURPOSE, body, sig, e.owner);
    if (refusal === 'unsigned' && !this.requireSigned && !this.trust.hasCertFor(e.owner)) return undefined;
    if (refusal) {
      if (refusal === 'unknown_cert' && this.parked.size < MAX_PARKED) this.parked.set(entryKey(e), e);
      const why = typeof sig?.cert === 'string' && refusal !== 'unknown_cert' ? this.trust.describe(sig.cert, refusal) : refusal;
      return this.refuse(refusal, e, why);
    }
    if (e.kind === 'network' || e.deleted) return undefined;
    if (!coversVtep(cert!, e.vtep)) return this.refuse('vtep_not_in_cert', e, `VTEP ${e.vtep} is not in its certificate (${cert!.vteps.join(', ')})`);
    if (e.kind === 'group') return undefined;
    const outside = e.ips.find((ip) => !coversAddress(cert!, ip));
    if (outside) return this.refuse('address_not_in_cert', e, `${outside} is outside its certificate's subnets (${cert!.subnets.join(', ')})`);
    return undefined;
  }

  sign<T extends Entry>(e: T): T {
    const { sig: _old, ...body } = e;
    return { ...e, sig: this.signer.sign(ENTRY_PURPOSE, body) };
  }

  trusted(e: Entry): boolean {
    if (!e.sig) return !this.requireSigned && !this.trust.hasCertFor(e.owner);
    return this.trust.refusalOf(e.sig.cert) === undefined;
  }

  ranges(): readonly string[] {
    return this.signer.cert.subnets;
  }

  /** Everything this node carries for others (push/pull, the state file). */
  documents(): Credentials {
    return { c: this.trust.certificates(), r: this.trust.revocations() };
  }

  /**
   * Takes certificates and revocations from a message (or the state file).
   * Returns the fresh ones (to relay), the parked entries their signers'
   * certificates now admit, and whether a revocation is new (endpoints to hide).
   */
  receive(doc: { c?: unknown; r?: unknown }): { fresh: Credentials; retry: Entry[]; revoked: boolean } {
    const fresh: Credentials = { c: [], r: [] };
    for (const raw of asList(doc.c)) {
      const got = this.trust.addCert(raw);
      if (got.fresh && got.doc) fresh.c.push(got.doc);
      if (got.refusal && (got.fresh || !got.doc)) this.onRefuse({ reason: got.refusal, what: 'certificate', node: nameOf(raw), message: got.message ?? got.refusal });
    }
    for (const raw of asList(doc.r)) {
      const got = this.trust.addRevocation(raw);
      if (got.fresh && got.doc) fresh.r.push(got.doc);
      if (got.refusal) this.onRefuse({ reason: got.refusal, what: 'revocation', node: nameOf(raw), message: got.message ?? got.refusal });
    }
    const signers = new Set(fresh.c.map(fingerprint));
    const retry = [...this.parked.values()].filter((e) => signers.has(e.sig?.cert ?? ''));
    for (const e of retry) this.parked.delete(entryKey(e));
    return { fresh, retry, revoked: fresh.r.length > 0 };
  }

  private refuse(reason: IdentityReason, e: Entry, why: string): IdentityReason {
    const what = e.kind === 'endpoint' ? `endpoint ${e.id.slice(0, 12)} (${e.ips.join(', ')})` : e.kind === 'group' ? `group ${e.group} of ${e.network}` : `network ${e.name}`;
    this.onRefuse({ reason, what: 'entry', node: e.owner, message: `${what} from ${e.owner} refused: ${why}` });
    return reason;
  }
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v.slice(0, 1024) : []);
const nameOf = (raw: unknown): string | undefined => {
  const n = (raw as { name?: unknown } | null)?.name;
  return typeof n === 'string' ? n.slice(0, 64) : undefined;
};
