/**
 * Certificates, revocations and entry signatures (src/identity): issue and
 * verify, expiry, another CA, tampering, the canonical encoding's stability,
 * and the CA folder operations `overlayctl ca` runs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  canonicalJson, coversAddress, coversVtep, fingerprint, initCa, issue, loadCa, newKey, parseCertificate, readCertificate, readKey, revokeCert,
  Signer, signNode, sodiumReady, TrustStore, validAt, verifyIssued, writeDocument, writeKey, type Certificate, type SigningKey,
} from '../../src/identity/index.js';

const T0 = 1_800_000_000;
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

function makeCa(name = 'ca'): { ca: Certificate; key: SigningKey } {
  const key = newKey();
  return { ca: issue({ name, ca: true, publicKey: b64(key.publicKey), vteps: [], subnets: [], notBefore: T0, notAfter: T0 + 1000 }, key), key };
}

function makeNode(ca: { ca: Certificate; key: SigningKey }, name = 'h1', extra: Partial<Certificate> = {}): { cert: Certificate; key: SigningKey } {
  const key = newKey();
  const body = { name, ca: false, publicKey: b64(key.publicKey), vteps: ['198.18.0.1'], subnets: ['198.19.1.0/25'], notBefore: T0, notAfter: T0 + 100, issuer: fingerprint(ca.ca), ...extra };
  return { cert: issue(body, ca.key), key };
}

beforeAll(() => sodiumReady());

describe('certificates', () => {
  it('a node certificate verifies against its CA, and says what it covers', () => {
    const ca = makeCa();
    const { cert } = makeNode(ca);
    expect(() => verifyIssued(cert, ca.ca)).not.toThrow();
    expect(coversVtep(cert, '198.18.0.1')).toBe(true);
    expect(coversVtep(cert, '198.18.0.2')).toBe(false);
    expect(coversAddress(cert, '198.19.1.100')).toBe(true);
    expect(coversAddress(cert, '198.19.1.200')).toBe(false);
    expect(coversAddress({ ...cert, subnets: [] }, '198.19.9.9')).toBe(true);
  });

  it('refuses a certificate of another CA, and a tampered one', () => {
    const ca = makeCa();
    const other = makeCa('other');
    const { cert } = makeNode(other);
    expect(() => verifyIssued(cert, ca.ca)).toThrow(expect.objectContaining({ code: 'WRONG_CA' }));
    const mine = makeNode(ca).cert;
    const widened = { ...mine, vteps: ['198.18.0.1', '198.18.0.9'] };
    expect(() => verifyIssued(parseCertificate(widened), ca.ca)).toThrow(expect.objectContaining({ code: 'BAD_SIGNATURE' }));
    const forged = { ...mine, issuer: fingerprint(ca.ca), signature: makeNode(other).cert.signature };
    expect(() => verifyIssued(forged, ca.ca)).toThrow(expect.objectContaining({ code: 'BAD_SIGNATURE' }));
  });

  it('knows its validity window', () => {
    const { cert } = makeNode(makeCa());
    expect(validAt(cert, T0 - 1)).toBe('not_yet_valid');
    expect(validAt(cert, T0)).toBe('valid');
    expect(validAt(cert, T0 + 100)).toBe('expired');
  });

  it('decoding refuses what is not canonical or not complete', () => {
    const { cert } = makeNode(makeCa());
    for (const bad of [
      { ...cert, vteps: ['198.018.0.1'] },
      { ...cert, subnets: ['198.19.1.5/25'] },
      { ...cert, publicKey: 'AAAA' },
      { ...cert, notAfter: cert.notBefore },
      { ...cert, extra: 1 },
      { ...cert, version: 2 },
      { ...cert, issuer: undefined },
      { ...cert, name: 'a b' },
    ]) {
      expect(() => parseCertificate(bad), JSON.stringify(bad).slice(0, 80)).toThrow(expect.objectContaining({ code: 'BAD_CERT' }));
    }
  });
});

describe('the canonical encoding', () => {
  it('does not depend on key order, leaves out absent fields, refuses what it cannot encode', () => {
    const a = { b: 1, a: [{ y: 'x', x: true }], n: null, u: undefined };
    const b = Object.assign(Object.create(null) as object, { a: [{ x: true, y: 'x' }], b: 1 });
    expect(canonicalJson(a)).toBe('{"a":[{"x":true,"y":"x"}],"b":1}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
    expect(() => canonicalJson({ f: 1.5 })).toThrow(expect.objectContaining({ code: 'BAD_ENCODING' }));
    expect(() => canonicalJson({ b: Buffer.from('x') })).toThrow(expect.objectContaining({ code: 'BAD_ENCODING' }));
  });
});

describe('the trust store', () => {
  it('verifies a signed document by its signer, and refuses by reason', () => {
    const ca = makeCa();
    let now = T0 + 10;
    const trust = new TrustStore(ca.ca, () => now);
    const node = makeNode(ca);
    const signer = new Signer(node.cert, node.key);
    const body = { kind: 'endpoint', owner: 'h1', ips: ['198.19.1.2'], ltime: 5 };
    const sig = signer.sign('p', body);
    expect(trust.verifySigned('p', body, sig, 'h1').refusal).toBe('unknown_cert');
    expect(trust.addCert(node.cert)).toMatchObject({ fresh: true, refusal: undefined });
    expect(trust.verifySigned('p', body, sig, 'h1')).toEqual({ cert: node.cert });
    // The same values in another order verify too (relayed through msgpack).
    expect(trust.verifySigned('p', { ltime: 5, ips: ['198.19.1.2'], owner: 'h1', kind: 'endpoint' }, sig, 'h1').refusal).toBeUndefined();
    expect(trust.verifySigned('p', { ...body, ips: ['198.19.1.3'] }, sig, 'h1').refusal).toBe('bad_signature');
    expect(trust.verifySigned('other purpose', body, sig, 'h1').refusal).toBe('bad_signature');
    expect(trust.verifySigned('p', body, sig, 'h2').refusal).toBe('bad_signature');
    expect(trust.verifySigned('p', body, undefined, 'h1').refusal).toBe('unsigned');
    expect(trust.verifySigned('p', body, 'garbage', 'h1').refusal).toBe('bad_signature');
    now = T0 + 100;
    expect(trust.verifySigned('p', body, sig, 'h1').refusal).toBe('cert_expired');
    expect(trust.describe(signer.fingerprint, 'cert_expired')).toMatch(/certificate of h1 \([0-9a-f]{16}\) expired at 2027-/);
  });

  it('refuses certificates of another CA and keeps none of them', () => {
    const ca = makeCa();
    const trust = new TrustStore(ca.ca, () => T0 + 1);
    expect(trust.addCert(makeNode(makeCa('x')).cert)).toMatchObject({ fresh: false, refusal: 'unknown_cert' });
    expect(trust.addCert({ nonsense: true })).toMatchObject({ fresh: false, refusal: 'bad_signature' });
    expect(trust.certificates()).toEqual([]);
    expect(trust.hasCertFor('h1')).toBe(false);
  });
});

describe('the CA folder (overlayctl ca)', () => {
  it('init, sign, revoke: files that read back and verify; keys 0600; nothing overwritten', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovt-ca-'));
    const ca = initCa(join(dir, 'ca'), 'test-ca', 10);
    expect(loadCa(join(dir, 'ca')).ca).toEqual(ca);
    expect(statSync(join(dir, 'ca', 'ca.key')).mode & 0o777).toBe(0o600);
    expect(() => initCa(join(dir, 'ca'), 'again', 10)).toThrow(/EEXIST/);
    const { cert, key } = signNode(join(dir, 'ca'), { name: 'h1', vteps: ['198.18.0.1'], subnets: ['198.19.1.0/24'], days: 400 });
    expect(cert.notAfter).toBe(ca.notAfter); // never outlives its CA
    writeDocument(join(dir, 'h1.crt'), cert);
    writeKey(join(dir, 'h1.key'), key);
    expect(readCertificate(join(dir, 'h1.crt'))).toEqual(cert);
    expect(readKey(join(dir, 'h1.key')).publicKey).toEqual(key.publicKey);
    const { revocation, path } = revokeCert(join(dir, 'ca'), cert);
    const trust = new TrustStore(ca);
    trust.addCert(cert);
    expect(trust.refusalOf(fingerprint(cert))).toBeUndefined();
    expect(trust.addRevocation(JSON.parse(readFileSync(path, 'utf8')))).toMatchObject({ fresh: true });
    expect(trust.refusalOf(fingerprint(cert))).toBe('cert_revoked');
    expect(trust.addRevocation({ ...revocation, revoked: '0'.repeat(64) })).toMatchObject({ refusal: 'bad_signature' });
    expect(() => signNode(join(dir, 'ca'), { name: 'h2', vteps: ['nope'], days: 1 })).toThrow(/invalid VTEP address/);
  });

  it('keeps node ranges disjoint: an overlapping range is refused until the holder is revoked, a renewal keeps its own', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ovt-ca-')), 'ca');
    initCa(dir, 'test-ca', 10);
    const sign = (name: string, subnets: string[], allowOverlap = false) => signNode(dir, { name, vteps: ['198.18.0.9'], subnets, days: 5, allowOverlap });
    const h1 = sign('h1', ['198.19.1.0/25', '2001:db8:1::/64']).cert;
    expect(() => sign('h2', ['198.19.1.64/26'])).toThrow(/--subnets 198\.19\.1\.64\/26 overlaps 198\.19\.1\.0\/25 of h1 \(certificate [0-9a-f]{16}, valid until /);
    expect(() => sign('h2', ['2001:db8:1::8000/112'])).toThrow(/overlaps 2001:db8:1::\/64 of h1/);
    expect(sign('h2', ['198.19.1.128/25']).cert.subnets).toEqual(['198.19.1.128/25']);
    expect(sign('h1', ['198.19.1.0/25']).cert.name).toBe('h1'); // a renewal keeps its range
    expect(sign('h3', ['198.19.1.0/24'], true).cert.subnets).toEqual(['198.19.1.0/24']); // the operator's choice
    revokeCert(dir, h1);
    expect(() => sign('h4', ['198.19.1.0/26'])).toThrow(/overlaps 198\.19\.1\.0\/2[45] of h[13] /); // h1's renewal (and h3) still hold it
    expect(() => sign('h4', ['198.19.2.0/24'])).not.toThrow();
  });
});
