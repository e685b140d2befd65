/**
 * Fuzzer for node identity (src/identity, src/cluster/signed-entries.ts):
 * mutated certificates, revocations and signed entries (bytes of their JSON
 * flipped, cut, extended; fields replaced by values of every type), and
 * msgpack garbage as gossip would decode it.
 *
 * Rules checked on every input:
 * - parseCertificate / parseRevocation throw nothing but IdentityError;
 * - TrustStore.addCert / addRevocation and the entry guard's admit never throw;
 * - nothing is believed that the CA or the owner did not sign: a certificate
 *   or revocation is taken only when it is the original, an entry only when
 *   its content (signature aside) is the original's.
 *
 *   npx tsx scripts/fuzz-identity.ts [iterations=1000000] [--seed N]
 *
 * Exits 1 on any failure. test/identity/fuzz.test.ts runs the same core
 * ({@link fuzzIdentity}) with a smaller budget.
 */
import { decodeMsgpack } from '../src/gossip/index.js';
import { SignedEntries } from '../src/cluster/signed-entries.js';
import { wellFormed } from '../src/cluster/validate.js';
import type { Entry } from '../src/cluster/entries.js';
import {
  canonicalJson, fingerprint, IdentityError, issue, keyFromSeed, parseCertificate, parseRevocation, revoke, Signer, sodiumReady, TrustStore, type Certificate,
} from '../src/identity/index.js';
import { below, extend, flipBits, isMain, keepFirst, makeRng, pick, randomBytes, runFuzzCli, setByte, tally, truncate, type Rng } from './fuzz/driver.js';

export { makeRng, sodiumReady };

type Kind = 'certificate' | 'revocation' | 'entry';
type Outcome = 'unparsed' | 'refused' | 'taken';

export interface IdentityFuzzReport {
  seed: number;
  inputs: number;
  /** What happened to the inputs of each kind. */
  outcomes: Record<Kind, Partial<Record<Outcome, number>>>;
  failures: { problem: string; input: string }[];
}

const T0 = 1_800_000_000;
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** A CA, a node certificate, a revocation of another certificate, and a signed endpoint entry: the originals to mutate. */
function originals() {
  const caKey = keyFromSeed(Buffer.alloc(32, 1));
  const ca = issue({ name: 'ca', ca: true, publicKey: b64(caKey.publicKey), vteps: [], subnets: [], notBefore: T0, notAfter: T0 + 10_000 }, caKey);
  const nodeKey = keyFromSeed(Buffer.alloc(32, 2));
  const node = issue({ name: 'h1', ca: false, publicKey: b64(nodeKey.publicKey), vteps: ['198.18.0.1'], subnets: ['198.19.1.0/24'], notBefore: T0, notAfter: T0 + 5000, issuer: fingerprint(ca) }, caKey);
  const other = issue({ ...node, name: 'h2', vteps: ['198.18.0.2'] }, caKey);
  const revocation = revoke(other, ca, caKey, T0 + 10);
  const signer = new Signer(node, nodeKey);
  const trust = new TrustStore(ca, () => T0 + 100);
  trust.addCert(node);
  const guard = new SignedEntries(trust, signer, true, () => undefined);
  const entry = guard.sign({
    kind: 'endpoint', id: 'a'.repeat(32), network: 'blue', networkId: 'b'.repeat(24), ips: ['198.19.1.2'], mac: '02:42:c6:13:01:02', vtep: '198.18.0.1',
    ifname: 'eth0', netns: 'c1', runtime: 'manual', owner: 'h1', ltime: 7, created: 7, deleted: false,
  } as Entry);
  return { ca, node, revocation, entry, trust, guard };
}

const SAMPLE_VALUES = (rng: Rng): unknown[] => [
  null, true, 0, -1, 2 ** 53, 1.5, '', 'x'.repeat(below(rng, 300)), '198.18.0.9', '198.19.0.0/16', '::', [], [null], {}, { cert: 'x', s: 'y' }, randomBytes(rng, 8).toString('base64'),
];

/** A mutation of `doc`: its JSON's bytes, or one field replaced / removed / added. */
function mutate(rng: Rng, doc: unknown): unknown {
  if (below(rng, 2) === 0) {
    let bytes: Buffer = Buffer.from(JSON.stringify(doc));
    const op = below(rng, 4);
    bytes = op === 0 ? flipBits(rng, bytes, 4) : op === 1 ? truncate(rng, bytes) : op === 2 ? extend(rng, bytes, 8) : setByte(rng, bytes);
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch {
      return undefined;
    }
  }
  const copy = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
  const keys = Object.keys(copy);
  const key = below(rng, 8) === 0 ? `f${below(rng, 100)}` : pick(rng, keys);
  if (below(rng, 6) === 0) delete copy[key];
  else copy[key] = pick(rng, SAMPLE_VALUES(rng));
  return copy;
}

/** Msgpack garbage as a gossip message would decode (maps with null prototypes, raw strings). */
function garbage(rng: Rng): unknown {
  try {
    return decodeMsgpack(Buffer.from(randomBytes(rng, 1 + below(rng, 64))), { text: true });
  } catch {
    return undefined;
  }
}

export function fuzzIdentity(opts: { iterations: number; seed: number }): IdentityFuzzReport {
  const rng = makeRng(opts.seed);
  const o = originals();
  const report: IdentityFuzzReport = { seed: opts.seed, inputs: 0, outcomes: { certificate: {}, revocation: {}, entry: {} }, failures: [] };
  const fail = (problem: string, input: unknown): void => keepFirst(report.failures, { problem, input: safeJson(input) }, 20);
  const { sig: _s, ...entryBody } = o.entry;
  const sameAs = (x: unknown, y: unknown): boolean => safeCanonical(x) === safeCanonical(y);

  for (let i = 0; i < opts.iterations; i++) {
    report.inputs++;
    const kind = pick(rng, ['certificate', 'revocation', 'entry'] as const);
    const original = kind === 'certificate' ? o.node : kind === 'revocation' ? o.revocation : o.entry;
    const input = below(rng, 10) === 0 ? garbage(rng) : mutate(rng, original);
    try {
      if (kind === 'certificate') {
        tally(report.outcomes.certificate, certificateOutcome(input, o.trust, fail));
        if (o.trust.addCert(input).doc && !sameAs(input, o.node)) fail('a certificate the CA did not sign was kept', input);
      } else if (kind === 'revocation') {
        try {
          parseRevocation(input);
        } catch (err) {
          if (!(err instanceof IdentityError)) fail(`parseRevocation threw ${(err as Error).name}`, input);
        }
        const got = new TrustStore(o.ca).addRevocation(input);
        if (got.doc && !sameAs(input, o.revocation)) fail('a revocation the CA did not sign was taken', input);
        tally(report.outcomes.revocation, got.doc ? 'taken' : 'refused');
      } else {
        if (!wellFormed(input)) {
          tally(report.outcomes.entry, 'unparsed');
          continue;
        }
        const reason = o.guard.admit(input, undefined);
        const { sig: _x, ...body } = input;
        if (reason === undefined && !sameAs(body, entryBody)) fail('an entry its owner did not sign was admitted', input);
        tally(report.outcomes.entry, reason === undefined ? 'taken' : 'refused');
      }
    } catch (err) {
      fail(`${kind}: threw ${(err as Error).message}`, input);
    }
  }
  return report;
}

function certificateOutcome(input: unknown, trust: TrustStore, fail: (p: string, i: unknown) => void): Outcome {
  let cert: Certificate;
  try {
    cert = parseCertificate(input);
  } catch (err) {
    if (!(err instanceof IdentityError)) fail(`parseCertificate threw ${(err as Error).name}`, input);
    return 'unparsed';
  }
  return trust.addCert(cert).refusal === 'bad_signature' ? 'refused' : 'taken';
}

function safeCanonical(v: unknown): string {
  try {
    return canonicalJson(v);
  } catch {
    return '\u0000unencodable';
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v)?.slice(0, 300) ?? String(v);
  } catch {
    return String(v);
  }
}

export function formatReport(r: IdentityFuzzReport): string {
  const lines = [`seed ${r.seed}: ${r.inputs} inputs, ${r.failures.length} failures`];
  for (const [kind, counts] of Object.entries(r.outcomes)) lines.push(`${kind}: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const f of r.failures) lines.push(`FAIL ${f.problem}: ${f.input}`);
  return lines.join('\n');
}

if (isMain(import.meta.url)) {
  await sodiumReady();
  await runFuzzCli({
    name: 'fuzz-identity.ts',
    run: ({ iterations, seed }) => fuzzIdentity({ iterations, seed: seed ?? Date.now() % 2 ** 31 }),
    format: formatReport,
    failed: (r) => r.failures.length > 0,
  });
}
