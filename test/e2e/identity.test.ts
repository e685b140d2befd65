/**
 * Node identity on namespace hosts (docs/identity.md): four agents with
 * certificates from one CA and --require-signed. A fifth host with the
 * gossip key but no certificate, or one of another CA, announces a member's
 * address and MAC and a network: nothing reaches any table, refusals are
 * counted by reason, and a ping between the real containers loses nothing. A
 * member with a valid certificate is held to its VTEP and its ranges (also
 * with a back-dated claim of a live address), an expired certificate is
 * refused with a log line, a revocation empties every FDB of the revoked
 * node within 10 s, and a renewed certificate is taken without restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Topology } from '../../src/testkit/topology.js';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';
import { AgentHandle, OVERLAYD, pingRaw, run, startCluster, tearDown, waitFor, type Endpoint } from '../../src/testkit/agents.js';
import { fingerprint, initCa, issue, loadCa, newKey, readCertificate, revokeCert, signNode, sodiumReady, writeDocument, writeKey, type Certificate } from '../../src/identity/index.js';

const ready = requirement(haveRoot() && haveTools('ip', 'ping'), 'identity e2e needs root, ip and ping');
const ROGUE = join(import.meta.dirname, '../../dist/test/e2e/fixtures/identity-rogue.js');
const GOSSIP_KEY = randomBytes(32).toString('base64');
const nowS = (): number => Math.floor(Date.now() / 1000);

type Stats = { cluster: { rejected: Record<string, number> } };
type FdbRow = { ip: string; mac: string; vtep: string; node?: string };

describe.skipIf(!ready)('a cluster CA: signed entries, refusals, revocation', () => {
  let topo: Topology;
  let agents: AgentHandle[] = [];
  let dir: string;
  const eps: Endpoint[] = [];
  let networkId = '';

  const caDir = () => join(dir, 'ca');
  const certOf = (i: number) => join(dir, `node${i}.crt`);
  /** Writes a node certificate and key made by the test's CA. */
  const writeNode = (path: string, name: string, vteps: string[], subnets?: string[], days = 30) => {
    const { cert, key } = signNode(caDir(), { name, vteps, subnets, days });
    rmSync(path, { force: true });
    rmSync(path.replace(/\.crt$/, '.key'), { force: true });
    writeDocument(path, cert);
    writeKey(path.replace(/\.crt$/, '.key'), key);
    return cert;
  };
  const fdbOf = async (a: AgentHandle) => (await a.ctl<FdbRow[]>('fdb', 'blue')).map((r) => `${r.ip} ${r.mac} ${r.vtep}`).sort().join('\n');
  const endpoint = (over: Record<string, unknown>) => ({
    kind: 'endpoint', id: randomBytes(16).toString('hex'), network: 'blue', networkId, ifname: 'eth0', netns: 'x', runtime: 'manual', ltime: 1_000_000, created: 1_000_000, deleted: false, ...over,
  });
  /** Runs the rogue member on host 5 with `cfg`; resolves when it has left. */
  const rogue = async (cfg: Record<string, unknown>) => {
    const file = join(dir, `rogue-${randomBytes(4).toString('hex')}.json`);
    writeFileSync(file, JSON.stringify({ bind: topo.host(5).addr4, join: `${topo.host(1).addr4}:7946`, gossipKey: GOSSIP_KEY, ...cfg }));
    const out = await topo.exec(topo.host(5).ns, [process.execPath, ROGUE, file], { timeoutMs: 30_000 });
    expect(out.stdout).toMatch(/sent \d+ messages to 4 members/);
  };
  const rejected = async () => Promise.all(agents.map(async (a) => (await a.ctl<Stats>('stats')).cluster.rejected));

  beforeAll(async () => {
    await sodiumReady();
    dir = mkdtempSync(join(tmpdir(), 'ovt-identity-'));
    topo = await Topology.create({ hosts: 5 });
    initCa(caDir(), 'test-ca', 30);
    for (const i of [1, 2, 3, 4]) writeNode(certOf(i), `node${i}`, [topo.host(i).addr4!], undefined, i === 4 ? 10 : 30);
    const identityArgs = (i: number) => ['--ca', join(caDir(), 'ca.crt'), '--cert', certOf(i), '--key', certOf(i).replace(/\.crt$/, '.key'), '--require-signed'];
    agents = await startCluster(topo, { datapath: 'native', gossipKey: GOSSIP_KEY, hostArgs: identityArgs }, [1, 2, 3, 4]);
    const net = await agents[0].ctl<{ id: string }>('network', 'create', 'blue', '--subnet', '198.19.1.0/24');
    networkId = net.id;
    for (const a of agents) {
      await waitFor(`network on ${a.name}`, async () => (await a.ctl<unknown[]>('network', 'ls')).length === 1, 10_000);
      const c = await topo.container(a.hostIndex, 'c');
      eps.push(await a.ctl<Endpoint>('endpoint', 'attach', 'blue', '--netns', c.ns, '--ip', `198.19.1.${10 + a.hostIndex}`));
    }
    await waitFor('4 endpoints in every FDB', async () => (await Promise.all(agents.map(fdbOf))).every((f) => f.split('\n').length === 4), 15_000);
    await waitFor('node2 pings node1', async () => (await pingRaw(eps[1].netns, eps[0].ip, ['-c', '1', '-W', '1'])).code === 0, 10_000);
  }, 120_000);

  afterAll(async () => {
    await tearDown(topo, agents);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('status says the cluster is signed and shows the certificate', async () => {
    const s = await agents[1].ctl<{ identity: { mode: string; cert: { name: string; daysLeft: number }; certificates: { known: number; good: number } } }>('status');
    expect(s.identity).toMatchObject({ mode: 'required', cert: { name: 'node2' }, certificates: { known: 3, good: 3 } });
    expect(s.identity.cert.daysLeft).toBeGreaterThanOrEqual(28);
    expect(s.identity).not.toHaveProperty('warning');
    // node4's certificate runs out in 10 days: its status warns.
    const s4 = await agents[3].ctl<{ identity: { warning?: string } }>('status');
    expect(s4.identity.warning).toMatch(/^this node's certificate expires in 9 day\(s\) \(\d{4}-.*overlayctl cert reload$/);
  });

  it('a host with the gossip key but no certificate, or one of another CA, reaches no table; the hijacked container loses no ping', async () => {
    const before = await Promise.all(agents.map(fdbOf));
    const counts = await rejected();
    const victim = eps[0];
    const pinging = pingRaw(eps[1].netns, victim.ip, ['-c', '30', '-i', '0.2', '-W', '1']);
    const hijack = { owner: 'rogue', ips: [victim.ip], mac: victim.mac, vtep: topo.host(5).addr4 };
    const evilNet = { kind: 'network', name: 'evil', id: 'e'.repeat(24), vni: 7777, subnets: ['198.19.9.0/24'], mtu: 1450, encrypted: false, owner: 'rogue', ltime: 1_000_000, created: 1, deleted: false };
    await rogue({ name: 'rogue', entries: [endpoint(hijack), evilNet] });
    // Another CA's certificate, and entries signed with it.
    const other = join(dir, 'other');
    initCa(other, 'other-ca', 30);
    const { cert, key } = signNode(other, { name: 'rogue', vteps: [topo.host(5).addr4!], days: 1 });
    writeDocument(join(dir, 'rogue.crt'), cert);
    writeKey(join(dir, 'rogue.key'), key);
    await rogue({ name: 'rogue', certs: [cert], signCert: join(dir, 'rogue.crt'), signKey: join(dir, 'rogue.key'), entries: [endpoint(hijack), evilNet] });
    const pinged = await pinging;
    expect(pinged.stdout).toMatch(/30 packets transmitted, 30 received, 0% packet loss/);
    expect(await Promise.all(agents.map(fdbOf))).toEqual(before);
    for (const a of agents) expect((await a.ctl<{ name: string }[]>('network', 'ls')).map((n) => n.name)).toEqual(['blue']);
    const after = await rejected();
    after.forEach((r, i) => {
      expect(r.unsigned - counts[i].unsigned, agents[i].name).toBeGreaterThanOrEqual(2);
      expect(r.unknown_cert - counts[i].unknown_cert, agents[i].name).toBeGreaterThanOrEqual(3); // the certificate and both entries
    });
    expect(agents[0].log()).toMatch(/identity: endpoint [0-9a-f]{12} \(198\.19\.1\.11\) from rogue refused: unsigned/);
  }, 60_000);

  it('a member with a valid certificate is held to its VTEP and its ranges, also with a back-dated claim of a live address', async () => {
    const before = await Promise.all(agents.map(fdbOf));
    const counts = await rejected();
    const m5 = writeNode(join(dir, 'm5.crt'), 'm5', [topo.host(5).addr4!], ['198.19.1.192/26']);
    const inside = endpoint({ owner: 'm5', ips: ['198.19.1.200'], mac: '02:42:c6:13:01:c8', vtep: topo.host(5).addr4 });
    const entries = [
      endpoint({ owner: 'm5', ips: ['198.19.1.201'], mac: '02:42:c6:13:01:c9', vtep: topo.host(4).addr4 }), // another host's VTEP
      endpoint({ owner: 'm5', ips: ['198.19.1.50'], mac: '02:42:c6:13:01:32', vtep: topo.host(5).addr4 }), // outside its range
      endpoint({ owner: 'm5', ips: [eps[0].ip], mac: eps[0].mac, vtep: topo.host(5).addr4, created: 1, ltime: 2 }), // back-dated, live
      inside,
    ];
    const sending = rogue({ name: 'm5', certs: [m5], signCert: join(dir, 'm5.crt'), signKey: join(dir, 'm5.key'), entries, stayMs: 8000 });
    // The one inside its certificate is taken (while m5 is a member): the refusals are not the fixture's fault.
    await waitFor('m5\'s good endpoint on node2', async () => (await agents[1].ctl<FdbRow[]>('fdb', 'blue')).some((r) => r.ip === '198.19.1.200'), 8_000);
    await sending;
    const after = await rejected();
    after.forEach((r, i) => {
      expect(r.vtep_not_in_cert - counts[i].vtep_not_in_cert, agents[i].name).toBe(1);
      expect(r.address_not_in_cert - counts[i].address_not_in_cert, agents[i].name).toBe(2);
    });
    // m5 left: its endpoint is gone; nothing else changed anywhere, node1's container kept its address.
    await waitFor('the tables as before', async () => JSON.stringify(await Promise.all(agents.map(fdbOf))) === JSON.stringify(before), 10_000);
    expect((await agents[0].ctl<Endpoint[]>('endpoint', 'ls')).find((e) => e.node === 'node1')?.ip).toBe(eps[0].ip);
  }, 60_000);

  it('an expired certificate is refused with a clear log line; an agent will not start with one', async () => {
    const { ca, key: caKey } = loadCa(caDir());
    const key = newKey();
    const t = nowS();
    const expired: Certificate = issue(
      { name: 'e5', ca: false, publicKey: Buffer.from(key.publicKey).toString('base64'), vteps: [topo.host(5).addr4!], subnets: [], notBefore: t - 100, notAfter: t - 10, issuer: fingerprint(ca) },
      caKey,
    );
    writeDocument(join(dir, 'e5.crt'), expired);
    writeKey(join(dir, 'e5.key'), key);
    const counts = await rejected();
    await rogue({ name: 'e5', certs: [expired], signCert: join(dir, 'e5.crt'), signKey: join(dir, 'e5.key'), entries: [endpoint({ owner: 'e5', ips: ['198.19.1.77'], mac: '02:42:c6:13:01:4d', vtep: topo.host(5).addr4 })] });
    const after = await rejected();
    after.forEach((r, i) => expect(r.cert_expired - counts[i].cert_expired, agents[i].name).toBeGreaterThanOrEqual(2)); // the certificate, the entry
    expect(agents[2].log()).toMatch(/certificate of e5 \([0-9a-f]{16}\) expired at \d{4}-\d\d-\d\dT/);
    const start = await run(['ip', 'netns', 'exec', topo.host(5).ns, process.execPath, OVERLAYD, '--name', 'e5', '--advertise-addr', topo.host(5).addr4!, '--state-dir', join(dir, 'e5-state'), '--socket', join(dir, 'e5.sock'),
      '--ca', join(caDir(), 'ca.crt'), '--cert', join(dir, 'e5.crt'), '--key', join(dir, 'e5.key')], 20_000);
    expect(start.code).toBe(1);
    expect(start.stderr).toMatch(/e5\.crt expired at .*other nodes would refuse/);
  }, 60_000);

  it('a renewed certificate is taken without restart (cert reload); the node\'s entries stay everywhere', async () => {
    const before = await agents[1].ctl<{ identity: { cert: { fingerprint: string } } }>('status');
    writeNode(certOf(2), 'node2', [topo.host(2).addr4!]);
    const reloaded = await agents[1].ctl<{ cert: { fingerprint: string } }>('cert', 'reload');
    expect(reloaded.cert.fingerprint).not.toBe(before.identity.cert.fingerprint);
    // node2 re-signed its endpoint: the others take the new version (a newer ltime, signed with the new key).
    await new Promise((r) => setTimeout(r, 2000));
    for (const a of agents) expect(await fdbOf(a), a.name).toContain(eps[1].ip);
    expect(await pingRaw(eps[0].netns, eps[1].ip, ['-c', '2', '-W', '1'])).toMatchObject({ code: 0 });
  }, 30_000);

  it('a revoked node\'s endpoints leave every other FDB within 10 s, and stay gone', async () => {
    const { path, revocation } = revokeCert(caDir(), readCertificate(certOf(3)));
    const revoked = revocation.revoked;
    const t0 = Date.now();
    await agents[0].ctl('ca', 'publish', path);
    for (const a of agents.filter((x) => x.name !== 'node3')) {
      await waitFor(`node3's endpoint leaves ${a.name}'s FDB`, async () => !(await fdbOf(a)).includes(eps[2].ip), 10_000 - (Date.now() - t0));
    }
    console.log(`revocation: node3's endpoint left every other FDB ${Date.now() - t0} ms after ca publish`);
    // node3 still runs and re-announces; nobody takes it back.
    await new Promise((r) => setTimeout(r, 3000));
    for (const a of agents.filter((x) => x.name !== 'node3')) expect(await fdbOf(a), a.name).not.toContain(eps[2].ip);
    const s = await agents[1].ctl<{ identity: { certificates: { revoked: number } } }>('status');
    expect(s.identity.certificates.revoked).toBe(1);
    // Kept in the state file: a restarted agent still knows it.
    const saved = JSON.parse(readFileSync(join(agents[1].stateDir, 'state.json'), 'utf8')) as { state: { identity?: { r?: { revoked: string }[] } } };
    expect(saved.state.identity?.r?.map((r) => r.revoked)).toEqual([revoked]);
  }, 30_000);
});
