/**
 * Key rotation of encrypted networks on three namespace hosts (hosts 1 and 2
 * on the native data path with 2 workers each, host 3 on the TypeScript path), for each carrier
 * (protocol 50 between native hosts, ESP-in-UDP between native and js): a continuous ping flood (batches of
 * `ping -i 0.01`, back to back) and checksum-verified TCP transfers run
 * through three consecutive `network rotate-key` calls and lose nothing;
 * then an agent killed as a rotation starts, which misses two of them, catches
 * up when it comes back: its ring sends with the cluster's key and its
 * container talks again (its sequence numbers resume above what the peers'
 * windows saw, else they would be dropped as replays).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology } from '../../src/testkit/topology.js';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';
import { nsExec, ping, run, startAgents, startCluster, tearDown, waitFor, type AgentHandle, type Endpoint } from '../../src/testkit/agents.js';
import { dropsOf, newGossipKey, pingCount, sendingTag, type KeysView, type PingCount, type RotateResult } from './encrypted-support.js';

const ready = requirement(haveRoot() && haveTools('ip', 'ping'), 'encrypted rotation e2e tests need root, ip and ping');
const TRANSFER = `${import.meta.dirname}/fixtures/transfer.mjs`;
/** Bound on how long a returning agent may take to send with the cluster's key and reach its peers again. */
const CATCH_UP_MS = 30_000;

describe.skipIf(!ready)('key rotation of encrypted networks, three hosts', () => {
  let topo: Topology | undefined;
  let agents: AgentHandle[] = [];
  const ep: Record<string, Endpoint> = {};

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 3 });
    const gossipKey = newGossipKey();
    // Two workers whatever the machine: the loads below then cross both, and each worker keeps its own cipher contexts.
    agents = await startCluster(topo, { datapath: 'native', gossipKey, extraArgs: ['--workers', '2'] }, [1, 2]);
    agents.push(...(await startAgents(topo, { datapath: 'js', gossipKey, extraArgs: ['--join', topo.host(1).addr4!] }, [3])));
    await waitFor('3 members alive everywhere', async () => {
      for (const a of agents) if ((await a.ctl<{ state: string }[]>('members')).filter((m) => m.state === 'alive').length !== 3) return false;
      return true;
    }, 40_000);
    await agents[0].ctl('network', 'create', 'rot', '--subnet', '198.19.30.0/24', '--encrypted', '--esp-carrier', 'ip');
    await agents[0].ctl('network', 'create', 'rotu', '--subnet', '198.19.31.0/24', '--encrypted', '--esp-carrier', 'udp');
    await waitFor('the networks on every agent', async () => {
      for (const a of agents) if ((await a.ctl<unknown[]>('network', 'ls')).length !== 2) return false;
      return true;
    }, 10_000);
    // Addresses given by hand: attaches right after one another on different hosts could race the allocation's gossip.
    for (const [name, h, net, ip] of [
      ['a', 1, 'rot', '198.19.30.10'],
      ['b', 2, 'rot', '198.19.30.11'],
      ['c', 3, 'rot', '198.19.30.12'],
      ['u', 1, 'rotu', '198.19.31.10'],
      ['v', 2, 'rotu', '198.19.31.11'],
      ['w', 3, 'rotu', '198.19.31.12'],
    ] as const) {
      const c = await topo.container(h, name);
      ep[name] = await agents[h - 1].ctl<Endpoint>('endpoint', 'attach', net, '--netns', c.ns, '--ip', ip);
    }
    await waitFor('FDBs complete', async () => {
      for (const a of agents) if ((await a.ctl<unknown[]>('fdb', 'rot')).length < 3 || (await a.ctl<unknown[]>('fdb', 'rotu')).length < 3) return false;
      return true;
    }, 20_000);
  }, 120_000);

  afterAll(() => tearDown(topo, agents));

  const pingOk = async (from: string, to: string) => (await run(['ip', 'netns', 'exec', ep[from].netns, 'ping', '-c', '1', '-W', '1', ep[to].ip], 10_000)).code === 0;

  /** Runs `work` repeatedly until `done()` is true; resolves with every result. */
  async function repeatUntil<T>(done: () => boolean, work: (i: number) => Promise<T>): Promise<T[]> {
    const results: T[] = [];
    while (!done()) results.push(await work(results.length));
    return results;
  }

  /** One checksum-verified TCP transfer of `bytes` from `from` to `to` on `port`: the sender's and receiver's "<sha256> <bytes>". */
  async function transfer(from: Endpoint, to: Endpoint, port: number, bytes: number): Promise<{ sent: string; got: string }> {
    const server = topo!.spawn(to.netns, [process.execPath, TRANSFER, 'serve', to.ip, String(port)]);
    await server.waitForLine(/listening/, 10_000);
    const sent = await nsExec(from.netns, [process.execPath, TRANSFER, 'send', to.ip, String(port), String(bytes)], { timeoutMs: 120_000 });
    const got = await server.waitForLine(/^[0-9a-f]{64} \d+$/, 60_000);
    return { sent: sent.stdout.trim(), got: got[0] };
  }

  it.each([
    ['protocol 50', 'rot', 'a', 'b'],
    ['ESP-in-UDP, native ↔ js', 'rotu', 'u', 'w'],
  ] as const)('%s: a ping flood and TCP transfers through three consecutive rotations lose nothing', async (_carrier, net, from, to) => {
    for (const [x, y] of [[from, to], [to, from]] as [string, string][]) await waitFor(`${x} pings ${y}`, () => pingOk(x, y), 10_000);
    const first = await agents[0].ctl<KeysView>('keys', net);
    let rotating = true;
    const floods = repeatUntil(() => !rotating, () => pingCount(ep[from].netns, ep[to].ip, 200, 0.01));
    const transfers = repeatUntil(() => !rotating, (i) => transfer(ep[to], ep[from], 6000 + i, 8 << 20));
    const steps: RotateResult[] = [];
    try {
      await new Promise((r) => setTimeout(r, 500)); // both loads are running
      for (let i = 0; i < 3; i++) steps.push(await agents[i].ctl<RotateResult>('network', 'rotate-key', net));
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      rotating = false;
    }
    const pings: PingCount[] = await floods;
    const moved = await transfers;

    // Three steps, each promoting a new key, all different from the starting one.
    const tags = [sendingTag(first.keys), ...steps.map((s) => sendingTag(s.keys))];
    expect(new Set(tags).size).toBe(4);
    for (const a of agents) await waitFor(`${a.name} sends with the last key`, async () => sendingTag((await a.ctl<KeysView>('keys', net)).keys) === tags[3], 10_000);

    const sent = pings.reduce((n, p) => n + p.transmitted, 0);
    const received = pings.reduce((n, p) => n + p.received, 0);
    console.log(`${net}: ${pings.length} ping batches, ${sent} requests, ${received} replies; ${moved.length} transfers of 8 MB`);
    expect(sent).toBeGreaterThan(600);
    expect(pings.filter((p) => p.received !== p.transmitted).map((p) => p.output)).toEqual([]);
    expect(moved.length).toBeGreaterThanOrEqual(1);
    for (const m of moved) {
      expect(m.got).toBe(m.sent);
      expect(m.got.endsWith(` ${8 << 20}`)).toBe(true);
    }
  }, 180_000);

  it('an agent killed (kill -9) as a rotation starts, missing two, catches up when it returns', async () => {
    const late = agents[2];
    await waitFor('a pings c', () => pingOk('a', 'c'), 10_000);
    // kill -9 as the rotation starts: no goodbye, no last checkpoint of its sequence numbers.
    const rotation = agents[0].ctl<RotateResult>('network', 'rotate-key', 'rot');
    late.process.signal('SIGKILL');
    await late.process.exited;
    const r1 = await rotation;
    const r2 = await agents[1].ctl<RotateResult>('network', 'rotate-key', 'rot');
    const [tag1, tag2] = [sendingTag(r1.keys), sendingTag(r2.keys)];
    expect(tag1).toBeDefined();
    expect(tag2).not.toBe(tag1);

    const replaysBefore = await Promise.all(agents.slice(0, 2).map(async (a) => (await dropsOf(a)).esp_replay ?? 0));
    const startedAt = Date.now();
    await late.start();
    const caughtUp = await waitFor('the returning agent sends with the cluster\'s key', async () => {
      const k = await late.ctl<KeysView>('keys', 'rot');
      return sendingTag(k.keys) === tag2 ? k : undefined;
    }, CATCH_UP_MS);
    expect(caughtUp.keys.map((k) => k.tag)).toContain(tag2);
    await waitFor('c and a talk again', async () => (await pingOk('c', 'a')) && (await pingOk('a', 'c')) && (await pingOk('b', 'c')), CATCH_UP_MS);
    console.log(`returning agent: sending with the new key and pinging both ways ${Date.now() - startedAt} ms after restart`);
    await ping(ep.c.netns, ep.b.ip);
    // Its counters resumed above every number it had used: no packet of it looked like a replay.
    const replaysAfter = await Promise.all(agents.slice(0, 2).map(async (a) => (await dropsOf(a)).esp_replay ?? 0));
    expect(replaysAfter).toEqual(replaysBefore);
  }, 120_000);
});
