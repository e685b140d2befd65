/**
 * `overlayctl trace` on namespace hosts, once with each data path: a known
 * remote endpoint is forwarded to its VTEP with the network's VNI, an
 * unknown address ends at the ARP proxy, a stale MAC at the FDB (no_fdb), an
 * oversized DF frame at the size stage (too_big), a packet from a VTEP that
 * is not a member at admit (unknown_vtep) — and a real frame of the same
 * shape sent from the container moves the counters the trace names, while
 * the trace itself moves none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology } from '../../src/testkit/topology.js';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';
import { crossPeer, nsExec, OVERLAYCTL, run, startAgents, tearDown, type AgentHandle, type Endpoint } from '../../src/testkit/agents.js';
import type { TraceReport } from '../../src/agent/trace.js';

const ready = requirement(haveRoot() && haveTools('ip'), 'end-to-end tests need root and ip');

interface Stats {
  tx: { packets: number; bytes: number };
  arpReplies: number;
  drops: Record<string, number>;
}

const STALE_MAC = '02:42:c6:13:01:63';
const GHOST_IP = '198.19.1.99';

/** One UDP datagram of 84 bytes of IP (56 of data), source port 40000, sent from namespace `ns` by node. */
async function sendUdp(ns: string, dst: string): Promise<void> {
  const script = `const s=require('dgram').createSocket('udp4');s.bind(40000,()=>s.send(Buffer.alloc(56),53,'${dst}',()=>s.close()))`;
  const r = await run(['ip', 'netns', 'exec', ns, process.execPath, '-e', script], 10_000);
  if (r.code !== 0) throw new Error(`sending UDP from ${ns} failed: ${r.stderr}`);
}

describe.skipIf(!ready).each(['native', 'js'] as const)('trace, %s data path', (datapath) => {
  let topo: Topology;
  let agents: AgentHandle[];
  const eps: Endpoint[] = [];

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 2 });
    agents = await startAgents(topo, { datapath }).catch(async (e) => {
      await topo.destroy();
      throw e;
    });
    for (const a of agents) await a.ctl('network', 'create', 'blue', '--subnet', '198.19.1.0/24', '--vni', '4100');
    for (const [host, name, n] of [
      [1, 'a', 2],
      [2, 'c', 4],
    ] as const) {
      const c = await topo.container(host, name);
      eps.push(await agents[host - 1].ctl<Endpoint>('endpoint', 'attach', 'blue', '--netns', c.ns, '--ip', `198.19.1.${n}`));
    }
    await crossPeer(agents, 'blue', eps);
  }, 120_000);

  afterAll(() => tearDown(topo, agents));

  const [a, c] = [0, 1].map((i) => () => eps[i]);
  const trace = (...args: string[]) => agents[0].ctl<TraceReport>('trace', 'blue', ...args);
  const stats = () => agents[0].ctl<Stats>('stats');
  const stagesOf = (r: TraceReport) => r.stages.map((s) => `${s.stage} ${s.result}`);

  it('forwards to a known remote endpoint: outer destination its VTEP, the VNI; a real datagram of that shape moves tx the same way', async () => {
    const before = await stats();
    const r = await trace('--src', a().ips[0], '--dst', c().ips[0], '--proto', 'udp', '--sport', '40000', '--dport', '53');
    expect(r).toMatchObject({ network: 'blue', vni: 4100, direction: 'egress', datapath, verdict: 'forward' });
    expect(r.outer).toMatchObject({ src: agents[0].advertise, dst: agents[1].advertise, dport: 4789, vni: 4100 });
    expect(r.outer?.sport).toBeGreaterThan(0);
    expect(stagesOf(r)).toEqual(['parse pass', 'proxy pass', 'lookup pass', 'size pass', 'encapsulate pass']);
    expect(r.stages[2].detail).toBe(`FDB ${c().mac} → VTEP ${agents[1].advertise}`);
    expect((await stats()).tx).toEqual(before.tx); // the trace sent and counted nothing

    await sendUdp(a().netns, c().ips[0]);
    const after = await stats();
    expect(after.tx.packets - before.tx.packets).toBe(1);
    expect(after.tx.bytes - before.tx.bytes).toBe(8 + 14 + 84);
    expect(r.stages[4].detail).toContain(`${8 + 14 + 84}-byte payload`);
  });

  it('drops a frame to a stale MAC with no_fdb, as the real frame is dropped', async () => {
    const r = await trace('--src', a().ips[0], '--dst', GHOST_IP, '--dst-mac', STALE_MAC, '--proto', 'udp');
    expect([r.verdict, r.reason, stagesOf(r).at(-1)]).toEqual(['drop', 'no_fdb', 'lookup no_fdb']);
    const before = await stats();
    await nsExec(a().netns, ['ip', 'neigh', 'replace', GHOST_IP, 'lladdr', STALE_MAC, 'dev', 'eth0', 'nud', 'permanent']);
    await sendUdp(a().netns, GHOST_IP);
    const after = await stats();
    expect(after.drops.no_fdb - before.drops.no_fdb).toBe(1);
    expect(after.tx.packets).toBe(before.tx.packets);
    await nsExec(a().netns, ['ip', 'neigh', 'del', GHOST_IP, 'dev', 'eth0']);
  });

  it('ends an unknown address at the ARP proxy (arp_unknown), as the container\'s own ARP request does', async () => {
    const r = await trace('--src', a().ips[0], '--dst', '198.19.1.77');
    expect([r.verdict, r.reason, stagesOf(r)]).toEqual(['drop', 'arp_unknown', ['parse pass', 'proxy arp_unknown']]);
    const before = await stats();
    await run(['ip', 'netns', 'exec', a().netns, 'ping', '-c', '1', '-W', '1', '198.19.1.77'], 10_000);
    expect((await stats()).drops.arp_unknown).toBeGreaterThan(before.drops.arp_unknown);
    expect((await trace('--src', a().ips[0], '--dst', c().ips[0], '--proto', 'arp')).verdict).toBe('reply');
  });

  it('drops an oversized DF frame at the size stage with too_big', async () => {
    const r = await trace('--src', a().ips[0], '--dst', c().ips[0], '--size', '1500', '--df');
    expect([r.verdict, r.reason, stagesOf(r).at(-1)]).toEqual(['drop', 'too_big', 'size too_big']);
    expect(r.stages.at(-1)?.detail).toMatch(/^too big: 1500 > 1450, DF; ICMP too-big \(MTU 1450\)/);
    expect((await trace('--src', a().ips[0], '--dst', c().ips[0], '--size', '3000')).stages[3].detail).toBe('3000 > 1450: cut into 3 IPv4 fragments');
  });

  it('walks ingress packets: from the member VTEP delivered, from any other unknown_vtep', async () => {
    const ok = await trace('--ingress', '--vtep', agents[1].advertise, '--src', c().ips[0], '--dst', a().ips[0]);
    expect(ok).toMatchObject({ direction: 'ingress', verdict: 'deliver', outer: { src: agents[1].advertise, vni: 4100 } });
    const stranger = await trace('--ingress', '--vtep', '198.18.0.99', '--src', c().ips[0], '--dst', a().ips[0]);
    expect([stranger.reason, stagesOf(stranger)]).toEqual(['unknown_vtep', ['open pass', 'decapsulate pass', 'admit unknown_vtep']]);
  });

  it('reads like ofproto/trace without --json, and refuses bad input with one line', async () => {
    const text = await run([process.execPath, OVERLAYCTL, '--socket', agents[0].socket, 'trace', 'blue', '--src', a().ips[0], '--dst', c().ips[0]]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Flow: icmp 198\.19\.1\.2 → 198\.19\.1\.4, 84 bytes of IP/);
    expect(text.stdout).toMatch(/\n {2}lookup {7}pass {2}FDB /);
    expect(text.stdout).toContain(`Verdict: forward — udp ${agents[0].advertise}:`);
    for (const [args, message] of [
      [['trace', 'green', '--src', a().ips[0], '--dst', c().ips[0]], /network/],
      [['trace', 'blue', '--src', c().ips[0], '--dst', a().ips[0]], /is not an endpoint of network blue on this host/],
      [['trace', 'blue', '--src', a().ips[0], '--dst', 'nowhere'], /--dst nowhere is not an IP address/],
    ] as const) {
      const r = await agents[0].ctlRaw(...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
