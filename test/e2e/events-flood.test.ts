/**
 * Drop events under a flood, once with each data path (issue 12): 100,000
 * garbage VXLAN datagrams from a host without an agent at node1 — the event
 * stream stays within the documented rate per reason, every drop is either
 * an event or in some event's `suppressed` (exactly the `stats` counts),
 * node1's memory stays bounded, and two containers keep talking through it.
 * Then a real frame to an unknown MAC shows up in `overlayctl events
 * --follow` as a `no_fdb` drop with its addresses, and the per-network drop
 * metrics add up to `stats`.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology } from '../../src/testkit/topology.js';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';
import { nsExec, OVERLAYCTL, pingRaw, run, startCluster, tearDown, waitFor, type AgentHandle, type Endpoint } from '../../src/testkit/agents.js';
import { DROP_EVENT_BURST, DROP_EVENT_RATE } from '../../src/dataplane/datapath.js';
import { EVENT_TYPES, type OverlayEvent } from '../../src/agent/events.js';
import { FLOOD_REASONS, flood } from '../../src/testkit/flood.js';
import { follow, rssMiB, sample, scrape } from './events-support.js';

const ready = requirement(haveRoot() && haveTools('ip', 'ping'), 'end-to-end tests need root, ip and ping');

const METRICS_PORT = 9464;
const FLOOD = 100_000;
const VNI = 4100;

interface Stats {
  drops: Record<string, number>;
}

describe.skipIf(!ready).each(['native', 'js'] as const)('drop events, %s data path', (datapath) => {
  let topo: Topology;
  let agents: AgentHandle[];
  const eps: Endpoint[] = [];
  const stats = () => agents[0].ctl<Stats>('stats');

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 3 });
    agents = await startCluster(topo, { datapath, extraArgs: ['--metrics-addr', `127.0.0.1:${METRICS_PORT}`] }, [1, 2]).catch(async (e) => {
      await topo.destroy();
      throw e;
    });
    await agents[0].ctl('network', 'create', 'blue', '--subnet', '198.19.1.0/24', '--vni', String(VNI));
    await waitFor('blue on node2', async () => (await agents[1].ctl<{ name: string }[]>('network', 'ls')).some((n) => n.name === 'blue'), 20_000);
    for (const [host, name, n] of [[1, 'a', 2], [2, 'c', 4]] as const) {
      const c = await topo.container(host, name);
      eps.push(await agents[host - 1].ctl<Endpoint>('endpoint', 'attach', 'blue', '--netns', c.ns, '--ip', `198.19.1.${n}`));
    }
    await waitFor('node2\'s endpoint in node1\'s FDB', async () => (await agents[0].ctl<{ mac: string }[]>('fdb', 'blue')).some((r) => r.mac === eps[1].mac), 20_000);
  }, 120_000);

  afterAll(() => tearDown(topo, agents));

  it(`a flood of ${FLOOD} garbage datagrams: events bounded per reason, suppressed counts exact, memory bounded, forwarding goes on`, async () => {
    const before = await stats();
    const pid = agents[0].process.pid!;
    const rssBefore = rssMiB(pid);
    const stream = await follow(agents[0].socket, 'type=drop');
    const t0 = Date.now();
    const pings = pingRaw(eps[0].netns, eps[1].ips[0], ['-c', '20', '-i', '0.2']);
    const sent = await flood(topo.host(3).ns, agents[0].advertise, FLOOD, VNI);
    const ping = await pings;
    const rssAfter = rssMiB(pid);
    // Settled: the counters no longer move; then one more datagram of each kind, after the buckets refilled, carries what is left.
    await waitFor('the counters to settle', async () => {
      const a = JSON.stringify((await stats()).drops);
      await new Promise((r) => setTimeout(r, 700));
      return a === JSON.stringify((await stats()).drops);
    }, 60_000);
    await new Promise((r) => setTimeout(r, 1200));
    const settled = await stats();
    await flood(topo.host(3).ns, agents[0].advertise, FLOOD_REASONS.length, VNI);
    await waitFor('the last event of each reason', async () => {
      const now = await stats();
      return FLOOD_REASONS.every((r) => now.drops[r] > settled.drops[r] && stream.events.some((e) => e.reason === r && Date.parse(e.time) >= Date.now() - 5000));
    }, 20_000);
    const seconds = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 300));
    stream.close();
    const after = await stats();

    const rows = FLOOD_REASONS.map((reason) => {
      const events = stream.events.filter((e) => e.reason === reason);
      const suppressed = events.reduce((n, e) => n + (e.suppressed as number), 0);
      return { reason, drops: after.drops[reason] - before.drops[reason], events: events.length, suppressed };
    });
    console.log(`${datapath}: sent ${sent.sent} in ${sent.ms} ms, window ${seconds.toFixed(1)} s, RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MiB, ping during the flood:`, /(\d+) received/.exec(ping.stdout)?.[0], rows);
    expect(rows.reduce((n, r) => n + r.drops, 0)).toBeGreaterThan(FLOOD / 10);
    for (const r of rows) {
      expect(r.events, r.reason).toBeGreaterThan(0);
      expect(r.events, r.reason).toBeLessThanOrEqual(Math.ceil(DROP_EVENT_RATE * seconds) + DROP_EVENT_BURST);
      expect(r.events + r.suppressed, r.reason).toBe(r.drops);
    }
    for (const e of stream.events.filter((x) => x.reason === 'unknown_vtep')) expect(e).toMatchObject({ network: 'blue', vni: VNI, direction: 'ingress', vtep: topo.host(3).addr4 });
    expect(rssAfter - rssBefore).toBeLessThan(150);
    expect(Number(/(\d+) received/.exec(ping.stdout)?.[1] ?? 0)).toBeGreaterThan(0);
  }, 180_000);

  it('the per-network drop metrics add up to stats: unknown_vtep on blue, unknown_vni under network ""', async () => {
    const text = await scrape(agents[0].ns, METRICS_PORT);
    const s = await stats();
    expect(sample(text, 'overlayd_drops_total', 'network="blue",reason="unknown_vtep"')).toBe(s.drops.unknown_vtep);
    expect(sample(text, 'overlayd_drops_total', 'network="",reason="unknown_vni"')).toBe(s.drops.unknown_vni);
    expect(sample(text, 'overlayd_drops_total', 'network="blue",reason="unknown_vni"')).toBe(0);
  });

  it('overlayctl events --follow shows a real frame to an unknown MAC as a no_fdb drop', async () => {
    const child = spawn(process.execPath, [OVERLAYCTL, '--socket', agents[0].socket, 'events', '--follow', '--network', 'blue', '--reason', 'no_fdb', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await new Promise((r) => setTimeout(r, 1000)); // connected (nothing to wait on: no event yet)
      await nsExec(eps[0].netns, ['ip', 'neigh', 'replace', '198.19.1.99', 'lladdr', '02:42:c6:13:01:63', 'dev', 'eth0', 'nud', 'permanent']);
      const send = `const s=require('dgram').createSocket('udp4');s.send(Buffer.alloc(16),53,'198.19.1.99',()=>s.close())`;
      await run(['ip', 'netns', 'exec', eps[0].netns, process.execPath, '-e', send], 10_000);
      const event = await waitFor('the no_fdb event', async () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as OverlayEvent)[0], 15_000);
      expect(event).toMatchObject({ type: 'drop', network: 'blue', vni: VNI, reason: 'no_fdb', direction: 'egress', src: eps[0].ips[0], dst: '198.19.1.99' });
      expect(event.summary).toMatch(/^no_fdb: egress IPv4 198\.19\.1\.2 → 198\.19\.1\.99 on blue/);
    } finally {
      child.kill('SIGTERM');
    }
    const text = await agents[0].ctlRaw('events', '--type', 'drops');
    expect([text.code, text.stderr.trim()]).toEqual([1, `overlayctl: unknown event type "drops": one of ${EVENT_TYPES.join(', ')}`]);
    const reason = await agents[0].ctlRaw('events', '--reason', 'nofdb');
    expect(reason.code).toBe(1);
    expect(reason.stderr).toMatch(/unknown drop reason "nofdb"/);
  });
});
