/**
 * What signed entries cost (docs/identity.md): signing and verifying 10,000
 * endpoint entries, and merging them into a store with and without a CA.
 * One run, in-process, no namespaces.
 *
 *   npx tsx bench/identity-sign.ts [count=10000]
 */
import { OverlayStore } from '../src/cluster/store.js';
import type { EndpointEntry } from '../src/cluster/entries.js';
import { ENTRY_PURPOSE, SignedEntries } from '../src/cluster/signed-entries.js';
import { fingerprint, issue, newKey, Signer, sodiumReady, TrustStore } from '../src/identity/index.js';

const count = Number(process.argv[2] ?? 10_000);
await sodiumReady();
const t = Math.floor(Date.now() / 1000);
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const caKey = newKey();
const ca = issue({ name: 'ca', ca: true, publicKey: b64(caKey.publicKey), vteps: [], subnets: [], notBefore: t - 10, notAfter: t + 3600 }, caKey);
const key = newKey();
const cert = issue({ name: 'h1', ca: false, publicKey: b64(key.publicKey), vteps: ['198.18.0.1'], subnets: [], notBefore: t - 10, notAfter: t + 3600, issuer: fingerprint(ca) }, caKey);
const signer = new Signer(cert, key);

const network = { kind: 'network' as const, name: 'blue', id: 'b'.repeat(24), vni: 4096, subnets: ['198.19.0.0/16'], mtu: 1450, encrypted: false, owner: 'h1', ltime: 1, created: 1, deleted: false };
const entries: EndpointEntry[] = Array.from({ length: count }, (_, i) => ({
  kind: 'endpoint', id: i.toString(16).padStart(32, '0'), network: 'blue', networkId: network.id, ips: [`198.19.${(i >> 8) & 255}.${(i & 255) || 1}`],
  mac: `02:42:c6:13:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${((i & 255) || 1).toString(16).padStart(2, '0')}`, vtep: '198.18.0.1', ifname: 'eth0', netns: `c${i}`, runtime: 'manual', owner: 'h1', ltime: i + 2, created: i + 2, deleted: false,
}));

const time = (fn: () => void): number => {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
};

const guardOf = (): SignedEntries => {
  const trust = new TrustStore(ca);
  return new SignedEntries(trust, signer, true, () => undefined);
};
const signGuard = guardOf();
let signed: EndpointEntry[] = [];
let signedNet = network as typeof network & { sig?: unknown };
const signMs = time(() => {
  signedNet = signGuard.sign(network);
  signed = entries.map((e) => signGuard.sign(e));
});
const verifyGuard = guardOf();
let refused = 0;
const verifyMs = time(() => {
  for (const e of signed) if (verifyGuard.admit(e, undefined)) refused++;
});
const merge = (withCa: boolean, batch: unknown[]): number => {
  const s = new OverlayStore('h2', '198.18.0.2');
  s.setMember('h1', 'alive', '198.18.0.1');
  if (withCa) s.guard = guardOf();
  return time(() => s.merge(batch));
};
const plainMs = merge(false, [network, ...entries]);
const caMs = merge(true, [signedNet, ...signed]);
const bytes = (xs: unknown[]): number => Buffer.byteLength(JSON.stringify(xs));

console.log(`entries: ${count}, ${ENTRY_PURPOSE}, refused ${refused}`);
console.log('| step | total ms | µs per entry |');
console.log('| --- | ---: | ---: |');
for (const [step, ms] of [['sign', signMs], ['verify (admit)', verifyMs], ['merge into a store, no CA', plainMs], ['merge into a store, with CA', caMs]] as const) {
  console.log(`| ${step} | ${ms.toFixed(0)} | ${((ms * 1000) / count).toFixed(1)} |`);
}
console.log(`size (JSON): ${(bytes(entries) / count).toFixed(0)} bytes per entry unsigned, ${(bytes(signed) / count).toFixed(0)} signed`);
