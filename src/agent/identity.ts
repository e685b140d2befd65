/**
 * This agent's node identity (docs/identity.md): with `--ca`, it loads the CA
 * certificate, its own certificate and key (refusing to start on any doubt),
 * hands the store a guard that signs what this node writes and checks what
 * others wrote (src/cluster/signed-entries.ts), and then:
 *
 *   refusals ─► `cluster.rejected` (certificates; entries count themselves),
 *               an `identity` event and a log line, both at most one per
 *               reason and node every 10 s
 *   every 2 s ─► a certificate that expired (or came into force) changes what
 *               the tables hold: the store is told to reconcile
 *   cert reload ─► new certificate and key, everything this node owns re-signed
 *   ca publish ─► a revocation taken, spread, the node's endpoints hidden
 *
 * Without `--ca` it does nothing and `status` says "unsigned cluster".
 */
import { OverlayError } from '../cluster/errors.js';
import { SignedEntries, type Credentials, type IdentityRefusal } from '../cluster/signed-entries.js';
import type { ClusterSync } from '../cluster/sync.js';
import {
  coversVtep, fingerprint, isoSeconds as iso, nowSeconds as nowS, readCertificate, readKey, Signer, sodiumReady, TrustStore, validAt, verifyIssued, type Certificate,
} from '../identity/index.js';
import { ConfigError } from './config.js';
import type { AgentContext } from './context.js';

/** `status` warns this many days before this node's certificate expires. */
export const EXPIRY_WARNING_DAYS = 14;
const LOG_INTERVAL_MS = 10_000;
const VALIDITY_CHECK_MS = 2_000;
const DAY_S = 86_400;

/** `status` → `identity` (field names are a contract, docs/identity.md). */
export interface IdentityStatus {
  /** `unsigned`: no CA; `signed`: signs and checks, takes unsigned entries of nodes without a certificate; `required`: refuses them. */
  mode: 'unsigned' | 'signed' | 'required';
  summary: string;
  ca?: { name: string; fingerprint: string };
  cert?: { name: string; fingerprint: string; notAfter: string; daysLeft: number };
  /** Certificates of other nodes known, and how many of them are good now. */
  certificates?: { known: number; good: number; revoked: number };
  warning?: string;
}

export class NodeIdentity {
  private guard?: SignedEntries;
  private timer?: NodeJS.Timeout;
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();
  private goodSet = '';

  constructor(
    private readonly ctx: AgentContext,
    private readonly sync: ClusterSync,
  ) {}

  /** Loads the CA, the certificate and the key when configured, and arms the store. Runs before the state file is read. */
  async start(): Promise<void> {
    const c = this.ctx.config;
    if (!c.ca) return;
    await sodiumReady();
    const trust = new TrustStore(readCertificate(c.ca));
    this.guard = new SignedEntries(trust, this.loadSigner(trust.ca), c.requireSigned, (r) => this.refused(r));
    this.ctx.store.guard = this.guard;
    this.sync.credentials = this.guard;
  }

  /** After the state file: takes the saved credentials, re-signs what this node wrote unsigned or with another key, starts checking validity. */
  resume(saved?: { c?: unknown; r?: unknown }): void {
    const g = this.guard;
    if (!g) return;
    if (saved) g.receive(saved);
    this.ctx.store.rewriteOwn((e) => !g.signedByMe(e));
    this.sync.announceCredentials({ c: [g.cert], r: [] });
    this.goodSet = this.currentGoodSet();
    this.timer = setInterval(() => this.checkValidity(), VALIDITY_CHECK_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** What the state file keeps (certificates seen, revocations). */
  documents(): Credentials | undefined {
    return this.guard?.documents();
  }

  /** `overlayctl cert reload`: a renewed certificate and key from the same paths; everything this node owns is signed again. */
  reload(): IdentityStatus {
    const g = this.guard;
    if (!g) throw new OverlayError('BAD_REQUEST', 'this agent runs without --ca: there is no certificate to reload');
    g.setSigner(this.loadSigner(g.trust.ca, (msg) => new OverlayError('BAD_REQUEST', msg)));
    const n = this.ctx.store.rewriteOwn((e) => !g.signedByMe(e));
    this.sync.announceCredentials({ c: [g.cert], r: [] });
    this.ctx.events.emit({ type: 'identity', summary: `certificate reloaded (${fingerprint(g.cert).slice(0, 16)}, until ${iso(g.cert.notAfter)}); ${n} entries signed again`, reason: 'reload' });
    this.ctx.log.info({ fingerprint: fingerprint(g.cert), notAfter: iso(g.cert.notAfter), resigned: n }, 'certificate reloaded');
    return this.status();
  }

  /** `overlayctl ca publish`: takes a revocation (refused unless the CA signed it) and spreads it. */
  publish(raw: unknown): { revoked: string; name: string; fresh: boolean } {
    const g = this.guard;
    if (!g) throw new OverlayError('BAD_REQUEST', 'this agent runs without --ca: it cannot check a revocation');
    const got = g.trust.addRevocation(raw);
    if (!got.doc) throw new OverlayError('BAD_REQUEST', got.message ?? 'not a revocation of this cluster\'s CA');
    if (got.fresh) {
      this.sync.announceCredentials({ c: [], r: [got.doc] });
      this.ctx.store.emit('change');
      this.ctx.events.emit({ type: 'identity', summary: `certificate ${got.doc.revoked.slice(0, 16)} of ${got.doc.name} revoked`, reason: 'cert_revoked', node: got.doc.name });
    }
    return { revoked: got.doc.revoked, name: got.doc.name, fresh: got.fresh };
  }

  status(): IdentityStatus {
    const g = this.guard;
    if (!g) return { mode: 'unsigned', summary: 'unsigned cluster' };
    const t = nowS();
    const others = g.trust.certificates().filter((c) => c.name !== this.ctx.config.name);
    const refusals = others.map((c) => g.trust.refusalOf(fingerprint(c)));
    const daysLeft = Math.max(0, Math.floor((g.cert.notAfter - t) / DAY_S));
    const s: IdentityStatus = {
      mode: g.requireSigned ? 'required' : 'signed',
      summary: g.requireSigned ? 'signed cluster, unsigned entries refused' : 'signed cluster, unsigned entries of nodes without a certificate taken (migration)',
      ca: { name: g.trust.ca.name, fingerprint: g.trust.caFingerprint },
      cert: { name: g.cert.name, fingerprint: fingerprint(g.cert), notAfter: iso(g.cert.notAfter), daysLeft },
      certificates: { known: others.length, good: refusals.filter((r) => r === undefined).length, revoked: refusals.filter((r) => r === 'cert_revoked').length },
    };
    if (validAt(g.cert, t) === 'expired') s.warning = `this node's certificate expired at ${iso(g.cert.notAfter)}: other nodes refuse its entries; renew it and run overlayctl cert reload`;
    else if (daysLeft < EXPIRY_WARNING_DAYS) s.warning = `this node's certificate expires in ${daysLeft} day(s) (${iso(g.cert.notAfter)}): renew it and run overlayctl cert reload`;
    return s;
  }

  /** Own certificate and key, checked against the CA, the node name and the advertise address. */
  private loadSigner(ca: Certificate, fail: (msg: string) => Error = (msg) => new ConfigError(msg)): Signer {
    const c = this.ctx.config;
    try {
      const cert = readCertificate(c.cert!);
      verifyIssued(cert, ca);
      if (cert.name !== c.name) throw fail(`${c.cert} is the certificate of ${cert.name}, not of this node (${c.name})`);
      if (!coversVtep(cert, c.advertiseAddr)) throw fail(`${c.cert} does not allow VTEP ${c.advertiseAddr} (only ${cert.vteps.join(', ')})`);
      const state = validAt(cert, nowS());
      if (state !== 'valid') throw fail(`${c.cert} ${state === 'expired' ? `expired at ${iso(cert.notAfter)}` : `is not valid before ${iso(cert.notBefore)}`}: other nodes would refuse everything this node says`);
      return new Signer(cert, readKey(c.key!));
    } catch (err) {
      if (err instanceof ConfigError || err instanceof OverlayError) throw err;
      throw fail((err as Error).message);
    }
  }

  /** A certificate that expired or came into force since the last look changes which endpoints are shown. */
  private checkValidity(): void {
    const now = this.currentGoodSet();
    if (now === this.goodSet) return;
    const before = new Set(this.goodSet.split(' '));
    this.goodSet = now;
    const g = this.guard!;
    for (const cert of g.trust.certificates()) {
      const fp = fingerprint(cert);
      const refusal = g.trust.refusalOf(fp);
      if (refusal && before.has(fp)) this.refused({ reason: refusal, what: 'certificate', node: cert.name, message: `${g.trust.describe(fp, refusal)}: its entries are hidden` });
    }
    this.ctx.store.emit('change');
  }

  private currentGoodSet(): string {
    const g = this.guard!;
    return g.trust.certificates().map(fingerprint).filter((fp) => g.trust.refusalOf(fp) === undefined).sort().join(' ');
  }

  /** Counts a refused certificate or revocation (entries count themselves), and tells at a bounded rate. */
  private refused(r: IdentityRefusal): void {
    if (r.what !== 'entry') this.ctx.store.rejected[r.reason]++;
    const key = `${r.reason}|${r.node ?? '?'}`;
    const t = Date.now();
    const last = this.lastLogged.get(key);
    if (last && t - last.at < LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    if (this.lastLogged.size > 1024) this.lastLogged.clear();
    this.lastLogged.set(key, { at: t, suppressed: 0 });
    const more = last?.suppressed ? ` (and ${last.suppressed} more like it)` : '';
    this.ctx.events.emit({ type: 'identity', summary: `${r.message}${more}`, reason: r.reason, node: r.node, what: r.what });
    this.ctx.log.warn({ reason: r.reason, node: r.node, what: r.what, suppressed: last?.suppressed ?? 0 }, `identity: ${r.message}`);
  }
}
