/**
 * Control events and metrics on namespace hosts (issue 12): what changes on
 * one host shows up in another host's event log — a member joining and
 * leaving, a network added and removed, an endpoint attached and detached,
 * an encrypted network's keys added and rotated — and the agent's /metrics
 * passes `promtool check metrics` (whatever it exports), with members by
 * state, key age and drops by network.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology } from '../../src/testkit/topology.js';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';
import { OVERLAYCTL, run, startAgents, startCluster, tearDown, waitFor, type AgentHandle, type Endpoint } from '../../src/testkit/agents.js';
import type { OverlayEvent } from '../../src/agent/events.js';
import { newGossipKey } from './encrypted-support.js';
import { sample, scrape } from './events-support.js';

const ready = requirement(haveRoot() && haveTools('ip', 'promtool'), 'the events tests need root, ip and promtool (Debian package prometheus)');

const METRICS_PORT = 9465;

describe.skipIf(!ready)('control events and metrics', () => {
  let topo: Topology;
  let agents: AgentHandle[];
  const gossipKey = newGossipKey();
  const options = { datapath: 'native' as const, gossipKey, extraArgs: ['--metrics-addr', `127.0.0.1:${METRICS_PORT}`] };

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 3 });
    agents = await startCluster(topo, options, [1, 2]).catch(async (e) => {
      await topo.destroy();
      throw e;
    });
  }, 120_000);

  afterAll(() => tearDown(topo, agents));

  /** `overlayctl --json events ARGS`: one JSON object per line. */
  const events = async (agent: AgentHandle, ...args: string[]): Promise<OverlayEvent[]> => {
    const r = await agent.ctlRaw('events', ...args);
    if (r.code !== 0) throw new Error(`overlayctl events failed: ${r.stderr}`);
    return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as OverlayEvent);
  };

  /** Waits for an event on `agent` that matches `fields`; resolves with it. */
  const eventOn = (agent: AgentHandle, type: string, fields: Record<string, unknown>): Promise<OverlayEvent> =>
    waitFor(`a ${type} event ${JSON.stringify(fields)} on ${agent.name}`, async () => {
      return (await events(agent, '--type', type)).find((e) => Object.entries(fields).every(([k, v]) => JSON.stringify(e[k]) === JSON.stringify(v)));
    }, 20_000);

  it('a network and an endpoint made on node2 are events on node1, and so is their removal', async () => {
    await agents[1].ctl('network', 'create', 'blue', '--subnet', '198.19.3.0/24', '--vni', '4300');
    const net = await eventOn(agents[0], 'network', { network: 'blue', action: 'added' });
    expect(net).toMatchObject({ vni: 4300, summary: 'network blue added (vni 4300, 198.19.3.0/24)' });
    const text = await run([process.execPath, OVERLAYCTL, '--socket', agents[0].socket, 'events', '--type', 'network']);
    expect(text.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z network +blue +network blue added \(vni 4300, 198\.19\.3\.0\/24\)\n$/);
    const c = await topo.container(2, 'c');
    const ep = await agents[1].ctl<Endpoint>('endpoint', 'attach', 'blue', '--netns', c.ns, '--ip', '198.19.3.4');
    const added = await eventOn(agents[0], 'endpoint', { network: 'blue', action: 'added', id: ep.id });
    expect(added).toMatchObject({ vni: 4300, ips: ['198.19.3.4'], mac: ep.mac, node: 'node2', vtep: agents[1].advertise });
    expect(added.summary).toBe(`endpoint 198.19.3.4 (${ep.mac}) of blue added on node2 (${agents[1].advertise})`);
    await agents[1].ctl('endpoint', 'detach', ep.id);
    await eventOn(agents[0], 'endpoint', { network: 'blue', action: 'removed', id: ep.id });
    await agents[1].ctl('network', 'rm', 'blue');
    await eventOn(agents[0], 'network', { network: 'blue', action: 'removed' });
    const filtered = await events(agents[0], '--network', 'blue', '--limit', '2');
    expect(filtered.map((e) => [e.type, e.action])).toEqual([['endpoint', 'removed'], ['network', 'removed']]);
  });

  it("an encrypted network's keys: added on the other host, rotated when it rotates", async () => {
    await agents[0].ctl('network', 'create', 'red', '--subnet', '198.19.4.0/24', '--encrypted', '--esp-carrier', 'udp');
    const first = await eventOn(agents[1], 'key', { network: 'red', action: 'added' });
    expect(first.tag).toMatch(/^[0-9a-f]{8}$/);
    const before = (await events(agents[1], '--type', 'key', '--network', 'red')).length;
    expect(before).toBe(2); // the sending key and the next one
    await agents[0].ctl('network', 'rotate-key', 'red');
    const rotated = await eventOn(agents[1], 'key', { network: 'red', action: 'rotated' });
    expect(rotated.summary).toMatch(/^key [0-9a-f]{8} of red now sends \(rotated from [0-9a-f]{8}\)$/);
  }, 60_000);

  it('metrics pass promtool check metrics, with members by state, key age and drops by network', async () => {
    const text = await scrape(agents[0].ns, METRICS_PORT);
    const dir = mkdtempSync(join(tmpdir(), 'ovt-metrics-'));
    try {
      const file = join(dir, 'metrics.txt');
      writeFileSync(file, text);
      const check = await run(['sh', '-c', `promtool check metrics < ${file}`]);
      expect(check.stdout + check.stderr).toBe('');
      expect(check.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(sample(text, 'overlayd_members', 'state="alive"')).toBe(2);
    expect(sample(text, 'overlayd_members', 'state="dead"')).toBe(0);
    expect(sample(text, 'overlayd_key_age_seconds', 'network="red"')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'overlayd_drops_total', 'network="",reason="no_fdb"')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'overlayd_events_total', 'type="network"')).toBeGreaterThanOrEqual(2);
  });

  it('a member joining and leaving are events on the others', async () => {
    const [third] = await startAgents(topo, { ...options, extraArgs: ['--join', agents[0].advertise] }, [3]);
    agents.push(third);
    const up = await eventOn(agents[0], 'member', { node: 'node3', state: 'alive' });
    expect(up).toMatchObject({ addr: third.advertise, summary: `member node3 ${third.advertise} is alive` });
    await third.stop();
    const left = await eventOn(agents[1], 'member', { node: 'node3', state: 'left' });
    expect(left).toMatchObject({ previous: 'alive', summary: `member node3 ${third.advertise} left (was alive)` });
  }, 60_000);
});
