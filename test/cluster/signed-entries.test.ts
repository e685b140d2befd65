/**
 * Signed entries between stores (src/cluster/signed-entries.ts), without
 * gossip: a CA, nodes with certificates, and every refusal by its reason.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { OverlayStore } from '../../src/cluster/store.js';
import { claimedFirst, type EndpointEntry } from '../../src/cluster/entries.js';
import { SignedEntries, type IdentityRefusal } from '../../src/cluster/signed-entries.js';
import { fingerprint, issue, newKey, revoke, Signer, sodiumReady, TrustStore, type Certificate, type SigningKey } from '../../src/identity/index.js';

const T0 = Math.floor(Date.now() / 1000) - 10;
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
interface Ca { cert: Certificate; key: SigningKey }

function makeCa(): Ca {
  const key = newKey();
  return { cert: issue({ name: 'ca', ca: true, publicKey: b64(key.publicKey), vteps: [], subnets: [], notBefore: T0, notAfter: T0 + 10_000 }, key), key };
}

function nodeSigner(ca: Ca, name: string, vtep: string, subnets: string[] = []): Signer {
  const key = newKey();
  const cert = issue({ name, ca: false, publicKey: b64(key.publicKey), vteps: [vtep], subnets, notBefore: T0, notAfter: T0 + 5_000, issuer: fingerprint(ca.cert) }, ca.key);
  return new Signer(cert, key);
}

const HOSTS = { a: '198.18.0.1', b: '198.18.0.2', m: '198.18.0.3' } as const;

/** Stores a, b (and m) with certificates of one CA, all members of each other. */
function cluster(ca: Ca, opts: { require?: boolean; mSubnets?: string[] } = {}) {
  const refusals: IdentityRefusal[] = [];
  const make = (name: keyof typeof HOSTS, signer: Signer) => {
    const s = new OverlayStore(name, HOSTS[name]);
    const guard = new SignedEntries(new TrustStore(ca.cert), signer, opts.require ?? true, (r) => refusals.push(r));
    s.guard = guard;
    for (const [n, addr] of Object.entries(HOSTS)) s.setMember(n, 'alive', addr);
    return { s, guard };
  };
  const a = make('a', nodeSigner(ca, 'a', HOSTS.a));
  const b = make('b', nodeSigner(ca, 'b', HOSTS.b));
  const m = make('m', nodeSigner(ca, 'm', HOSTS.m, opts.mSubnets ?? []));
  // Everyone knows everyone's certificate (gossip's `c`).
  for (const x of [a, b, m]) x.guard.receive({ c: [a.guard.cert, b.guard.cert, m.guard.cert] });
  return { a, b, m, refusals };
}

const blue = (s: OverlayStore) => s.commitNetwork(s.prepareNetwork({ name: 'blue', subnets: ['198.19.1.0/24'], mtu: 1450 }));

beforeAll(() => sodiumReady());

describe('signed entries', () => {
  it('signs what a node writes; a peer with the same CA takes it', () => {
    const { a, b } = cluster(makeCa());
    const net = blue(a.s);
    expect(net.sig?.cert).toBe(fingerprint(a.guard.cert));
    const ep = a.s.commitEndpoint(a.s.prepareEndpoint({ network: 'blue', netns: 'c1' }));
    expect(b.s.merge(a.s.allEntries())).toHaveLength(2);
    expect(b.s.endpoints('blue').map((e) => e.id)).toEqual([ep.id]);
  });

  it('refuses by reason: unsigned, forged, tampered, VTEP or address outside the certificate, another owner', () => {
    const ca = makeCa();
    const { a, b, m } = cluster(ca, { mSubnets: ['198.19.1.128/25'] });
    blue(a.s);
    b.s.merge(a.s.allEntries());
    m.s.merge(a.s.allEntries());
    const ep = a.s.commitEndpoint(a.s.prepareEndpoint({ network: 'blue', netns: 'c1' }));
    b.s.merge([ep]);
    const before = { ...b.s.rejected };
    const base: EndpointEntry = { ...ep, id: 'f'.repeat(32), owner: 'm', vtep: HOSTS.m, ips: ['198.19.1.200'], mac: '02:42:c6:13:01:c8' };
    const { sig: _s, ...unsigned } = base;
    const cases: [string, unknown][] = [
      ['unsigned', unsigned],
      ['bad_signature', { ...m.s.guard.sign(base), ips: ['198.19.1.201'] }],
      ['bad_signature', a.s.guard.sign(base)], // signed by a as m
      ['vtep_not_in_cert', m.s.guard.sign({ ...base, vtep: HOSTS.a })],
      ['address_not_in_cert', m.s.guard.sign({ ...base, ips: [ep.ips[0]], mac: ep.mac })],
      ['not_owner', m.s.guard.sign({ ...ep, owner: 'm', vtep: HOSTS.m, ltime: ep.ltime + 100 })],
    ];
    for (const [reason, entry] of cases) {
      const n = b.s.rejected[reason as keyof typeof before];
      expect(b.s.merge([entry]), reason).toEqual([]);
      expect(b.s.rejected[reason as keyof typeof before], reason).toBe(n + 1);
    }
    expect(b.s.endpoints('blue').map((e) => e.id)).toEqual([ep.id]);
    // The same entry, properly signed and inside m's certificate, is taken.
    expect(b.s.merge([m.s.guard.sign(base)])).toHaveLength(1);
  });

  it('a certificate of another CA is refused, its entries too; an entry that came before its certificate is taken once it comes', () => {
    const ca = makeCa();
    const { a, b } = cluster(ca);
    blue(a.s);
    b.s.merge(a.s.allEntries());
    const rogue = nodeSigner(makeCa(), 'x', '198.18.0.9');
    const rogueGuard = new SignedEntries(new TrustStore(makeCa().cert), rogue, true, () => undefined);
    expect(b.guard.receive({ c: [rogue.cert] }).fresh.c).toEqual([]);
    const ep = rogueGuard.sign({ ...a.s.prepareEndpoint({ network: 'blue', netns: 'x' }), owner: 'x', vtep: '198.18.0.9', ltime: 9, created: 9 });
    expect(b.s.merge([ep])).toEqual([]);
    expect(b.s.rejected.unknown_cert).toBeGreaterThan(0);
    // A late certificate of the CA: the parked entry is tried again.
    const late = nodeSigner(ca, 'late', HOSTS.m);
    const lateEp = new SignedEntries(new TrustStore(ca.cert), late, true, () => undefined).sign({ ...a.s.prepareEndpoint({ network: 'blue', netns: 'l' }), owner: 'late', vtep: HOSTS.m, ltime: 10, created: 10 });
    expect(b.s.merge([lateEp])).toEqual([]);
    const { retry } = b.guard.receive({ c: [late.cert] });
    expect(retry.map((e) => (e as EndpointEntry).id)).toEqual([lateEp.id]);
    expect(b.s.merge(retry)).toHaveLength(1);
  });

  it('a revocation hides the node\'s endpoints; its entries are refused from then on', () => {
    const ca = makeCa();
    const { a, b } = cluster(ca);
    blue(a.s);
    a.s.commitEndpoint(a.s.prepareEndpoint({ network: 'blue', netns: 'c1' }));
    b.s.merge(a.s.allEntries());
    expect(b.s.endpoints('blue')).toHaveLength(1);
    const r = revoke(a.guard.cert, ca.cert, ca.key, T0 + 20);
    expect(b.guard.receive({ r: [r] }).revoked).toBe(true);
    expect(b.s.endpoints('blue')).toHaveLength(0);
    a.s.commitEndpoint(a.s.prepareEndpoint({ network: 'blue', netns: 'c2' }));
    b.s.merge(a.s.allEntries());
    expect(b.s.endpoints('blue')).toHaveLength(0);
    expect(b.s.rejected.cert_revoked).toBeGreaterThan(0);
    // A forged revocation (not the CA's) is refused.
    const fake = { ...revoke(b.guard.cert, ca.cert, makeCa().key, T0) };
    expect(a.guard.receive({ r: [fake] }).revoked).toBe(false);
  });

  it('migration: unsigned entries of nodes without a certificate are taken unless required; never in the name of a certified node', () => {
    const ca = makeCa();
    const { a, b } = cluster(ca, { require: false });
    blue(a.s);
    b.s.merge(a.s.allEntries());
    const old = new OverlayStore('old', '198.18.0.4');
    old.merge(a.s.allEntries());
    old.setMember('old', 'alive', '198.18.0.4');
    b.s.setMember('old', 'alive', '198.18.0.4');
    const ep = old.commitEndpoint(old.prepareEndpoint({ network: 'blue', netns: 'o' }));
    expect(ep.sig).toBeUndefined();
    expect(b.s.merge([ep])).toHaveLength(1);
    expect(b.s.merge([{ ...ep, id: 'e'.repeat(32), owner: 'a', vtep: HOSTS.a, ips: ['198.19.1.77'] }])).toEqual([]);
    expect(b.s.rejected.unsigned).toBe(1);
    const { b: strict } = cluster(ca, { require: true });
    strict.s.merge(a.s.allEntries());
    strict.s.setMember('old', 'alive', '198.18.0.4');
    expect(strict.s.merge([ep])).toEqual([]);
    expect(strict.s.rejected.unsigned).toBe(1);
  });

  it('a node whose certificate has ranges allocates inside them, and refuses an address outside them itself', () => {
    const ca = makeCa();
    const { a, m } = cluster(ca, { mSubnets: ['198.19.1.192/26'] });
    blue(a.s);
    m.s.merge(a.s.allEntries());
    const ep = m.s.commitEndpoint(m.s.prepareEndpoint({ network: 'blue', netns: 'c1' }));
    expect(ep.ips).toEqual(['198.19.1.193']);
    expect(a.s.merge([ep])).toHaveLength(1);
    expect(() => m.s.prepareEndpoint({ network: 'blue', netns: 'c2', ips: ['198.19.1.50'] })).toThrow(expect.objectContaining({ code: 'IP_OUTSIDE_SUBNET' }));
    a.s.commitNetwork(a.s.prepareNetwork({ name: 'red', subnets: ['198.19.2.0/24'], mtu: 1450 }));
    m.s.merge(a.s.allEntries());
    expect(() => m.s.prepareEndpoint({ network: 'red', netns: 'c3' })).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
  });

  it('migration: a signed claim keeps its address against a back-dated unsigned one, whatever the arrival order', () => {
    const ca = makeCa();
    const views: string[] = [];
    for (const order of ['signed first', 'unsigned first']) {
      const { a, b } = cluster(ca, { require: false });
      blue(a.s);
      b.s.merge(a.s.allEntries());
      const held = a.s.commitEndpoint(a.s.prepareEndpoint({ network: 'blue', netns: 'c1', ips: ['198.19.1.9'] }));
      const old = new OverlayStore('old', '198.18.0.4');
      old.merge(a.s.allEntries());
      const rival = { ...old.prepareEndpoint({ network: 'blue', netns: 'o', ips: ['198.19.1.10'] }), ips: ['198.19.1.9'], owner: 'old', ltime: 50, created: 1 };
      b.s.setMember('old', 'alive', '198.18.0.4');
      a.s.setMember('old', 'alive', '198.18.0.4');
      for (const batch of order === 'signed first' ? [[held], [rival]] : [[rival], [held]]) b.s.merge(batch);
      a.s.merge([rival]);
      expect(a.s.lostClaims(), order).toEqual([]); // the holder keeps its address
      const winner = b.s.endpoints('blue').filter((e) => e.ips.includes('198.19.1.9')).sort((x, y) => (claimedFirst(x, y) ? -1 : 1))[0];
      views.push(`${winner.owner} ${winner.id}`);
    }
    expect(views[0]).toMatch(/^a /);
    expect(views[1]).toMatch(/^a /);
  });

  it('signs group entries; refuses one that is unsigned, forged, or whose VTEP is outside the certificate', () => {
    const { a, b, m } = cluster(makeCa());
    a.s.commitNetwork(a.s.prepareNetwork({ name: 'blue', subnets: ['198.19.1.0/24'], mtu: 1450, multicast: true }));
    for (const x of [b, m]) x.s.merge(a.s.allEntries());
    const ep = m.s.commitEndpoint(m.s.prepareEndpoint({ network: 'blue', netns: 'c1' }));
    const g = m.s.commitGroup('blue', '239.1.2.3', [ep.id])!;
    expect(g.sig?.cert).toBe(fingerprint(m.guard.cert));
    b.s.merge([ep, g]);
    expect(b.s.groups('blue').map((x) => x.owner)).toEqual(['m']);
    const { sig: _s, ...unsigned } = { ...g, group: '239.1.2.4' };
    const cases: [string, unknown][] = [
      ['unsigned', unsigned],
      ['bad_signature', { ...m.s.guard.sign({ ...g, group: '239.1.2.5' }), endpoints: ['x'] }],
      ['bad_signature', a.s.guard.sign({ ...g, group: '239.1.2.6' })], // a writes in m's name
      ['vtep_not_in_cert', m.s.guard.sign({ ...g, group: '239.1.2.7', vtep: HOSTS.a })],
    ];
    for (const [reason, entry] of cases) {
      const n = b.s.rejected[reason as keyof typeof b.s.rejected];
      b.s.merge([entry]);
      expect([reason, b.s.rejected[reason as keyof typeof b.s.rejected]]).toEqual([reason, n + 1]);
    }
    expect(b.s.groups('blue')).toHaveLength(1);
  });
});
