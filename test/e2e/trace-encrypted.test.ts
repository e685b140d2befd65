/**
 * `overlayctl trace` on an encrypted network (ESP in UDP) of a two-host
 * gossip cluster, once with each data path: a frame to the remote endpoint
 * names the outbound SA and the sequence number the next real packet gets —
 * and the trace takes none (the SA's counter stays, the next ping uses that
 * very number); an ingress trace from the member VTEP goes through its
 * inbound SA without moving the window, one from any other VTEP finds no SA.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology } from '../../src/testkit/topology.js';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';
import { ping, startCluster, tearDown, waitFor, type AgentHandle, type Endpoint } from '../../src/testkit/agents.js';
import type { TraceReport } from '../../src/agent/trace.js';
import { newGossipKey, type KeysView } from './encrypted-support.js';

const ready = requirement(haveRoot() && haveTools('ip', 'ping'), 'end-to-end tests need root, ip and ping');

describe.skipIf(!ready).each(['native', 'js'] as const)('trace on an encrypted network, %s data path', (datapath) => {
  let topo: Topology;
  let agents: AgentHandle[] = [];
  const eps: Endpoint[] = [];

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 2 });
    // VTEP probes seal with the SAs this test follows: off, so only its own packets move the sequence numbers.
    const extraArgs = ['--peer-probe-interval', '0'];
    agents = await startCluster(topo, { datapath, gossipKey: newGossipKey(), extraArgs }, [1, 2]).catch(async (e) => {
      await topo.destroy();
      throw e;
    });
    await agents[0].ctl('network', 'create', 'sec', '--subnet', '198.19.3.0/24', '--encrypted', '--esp-carrier', 'udp');
    await waitFor('the network on host 2', async () => (await agents[1].ctl<unknown[]>('network', 'ls')).length === 1, 10_000);
    for (const [host, n] of [
      [1, 2],
      [2, 3],
    ] as const) {
      const c = await topo.container(host, `s${n}`);
      eps.push(await agents[host - 1].ctl<Endpoint>('endpoint', 'attach', 'sec', '--netns', c.ns, '--ip', `198.19.3.${n}`));
    }
    await waitFor('both FDBs', async () => {
      for (const a of agents) if ((await a.ctl<unknown[]>('fdb', 'sec')).length < 2) return false;
      return true;
    }, 20_000);
  }, 120_000);

  afterAll(() => tearDown(topo, agents));

  const outbound = async () => (await agents[0].ctl<KeysView>('keys', 'sec')).sas.find((s) => s.direction === 'out' && s.peer === agents[1].advertise);

  it('names the outbound SA and its next sequence number, takes none: the next real packet carries it', async () => {
    const sa = await waitFor('the outbound SA', outbound, 10_000);
    const trace = () => agents[0].ctl<TraceReport>('trace', 'sec', '--src', eps[0].ips[0], '--dst', eps[1].ips[0]);
    const r = await trace();
    expect(r).toMatchObject({ verdict: 'forward', outer: { dst: agents[1].advertise, esp: { spi: sa.spi, seq: sa.seq + 1 } } });
    expect(r.stages.map((s) => s.stage)).toEqual(['parse', 'proxy', 'lookup', 'size', 'encapsulate', 'seal']);
    expect(r.stages.at(-1)?.detail).toContain(`ESP spi ${sa.spi}, next sequence number ${sa.seq + 1} (not sealed`);
    expect((await trace()).outer?.esp).toEqual({ spi: sa.spi, seq: sa.seq + 1 });
    expect((await outbound())?.seq).toBe(sa.seq);

    await ping(eps[0].netns, eps[1].ips[0], ['-c', '1']);
    const next = (await outbound())!.seq;
    expect(next).toBeGreaterThan(sa.seq); // the ping's request took sa.seq + 1, the number the trace reported
    expect((await trace()).outer?.esp?.seq).toBe(next + 1);
  });

  it('walks ESP from the member VTEP through its inbound SA without moving the window; from another VTEP: no SA', async () => {
    const inbound = async () => (await agents[0].ctl<KeysView>('keys', 'sec')).sas.filter((s) => s.direction === 'in').map((s) => s.seq);
    const windows = await inbound();
    const ok = await agents[0].ctl<TraceReport>('trace', 'sec', '--ingress', '--vtep', agents[1].advertise, '--src', eps[1].ips[0], '--dst', eps[0].ips[0]);
    expect(ok).toMatchObject({ verdict: 'deliver', stages: [{ stage: 'open', result: 'pass' }, { stage: 'decapsulate' }, { stage: 'admit', result: 'pass' }] });
    expect(ok.outer?.esp?.spi).toMatch(/^0x[0-9a-f]{8}$/);
    expect(await inbound()).toEqual(windows);
    const stranger = await agents[0].ctl<TraceReport>('trace', 'sec', '--ingress', '--vtep', '198.18.0.99', '--src', eps[1].ips[0], '--dst', eps[0].ips[0]);
    expect([stranger.reason, stranger.stages]).toEqual(['esp_bad_spi', [{ stage: 'open', result: 'esp_bad_spi', detail: expect.stringContaining('no inbound SA from 198.18.0.99') }]]);
  });
});
