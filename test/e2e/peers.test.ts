/**
 * `overlayctl peers` on three namespace hosts, once with each data path: the
 * agents probe each other's VTEPs over the data path itself (VXLAN on the
 * data port, ESP on the encrypted network) and show every peer `up` with a
 * sane RTT; an nftables rule in one host's namespace dropping UDP 4789 (what
 * an operator's firewall does) makes that peer `down` within 10 s, with a
 * reason, while gossip still says it is alive, and it is `up` again within
 * 10 s of the rule going; dropping ESP breaks the encrypted network only;
 * a switch port with a smaller MTU loses the full-size probes only (an MTU
 * black hole). Probes never reach a container: the bridge sees none. A
 * static peer without an agent shows `unknown`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology } from '../../src/testkit/topology.js';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';
import { nsExec, startCluster, tearDown, waitFor, type AgentHandle, type Endpoint } from '../../src/testkit/agents.js';
import type { PeerRow } from '../../src/agent/peer-health.js';
import { PROBE_ETHERTYPE, readPcap } from '../../src/wire/index.js';
import { newGossipKey } from './encrypted-support.js';

const ready = requirement(haveRoot() && haveTools('ip', 'nft', 'tcpdump'), 'peers e2e tests need root, ip, nft and tcpdump');

const BLUE_VNI = 4200;
const RED_VNI = 4201;
const FIREWALL = 'ovtpeers';

/** An nftables input rule in host `ns` dropping `match` (e.g. `udp dport 4789`); returns its removal. */
async function firewall(ns: string, match: string[]): Promise<() => Promise<void>> {
  await nsExec(ns, ['nft', 'add', 'table', 'inet', FIREWALL]);
  await nsExec(ns, ['nft', 'add', 'chain', 'inet', FIREWALL, 'input', '{ type filter hook input priority 0; }']);
  await nsExec(ns, ['nft', 'add', 'rule', 'inet', FIREWALL, 'input', ...match, 'drop']);
  return async () => {
    await nsExec(ns, ['nft', 'delete', 'table', 'inet', FIREWALL]);
  };
}

describe.skipIf(!ready).each(['native', 'js'] as const)('peers, %s data path', (datapath) => {
  let topo: Topology;
  let agents: AgentHandle[];

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 3 });
    agents = await startCluster(topo, { datapath, gossipKey: newGossipKey() }, [1, 2, 3]).catch(async (e) => {
      await topo.destroy();
      throw e;
    });
    await agents[0].ctl('network', 'create', 'blue', '--subnet', '198.19.20.0/24', '--vni', String(BLUE_VNI));
    await agents[0].ctl('network', 'create', 'red', '--subnet', '198.19.21.0/24', '--vni', String(RED_VNI), '--encrypted');
    for (const a of agents) {
      await waitFor(`networks on ${a.name}`, async () => (await a.ctl<unknown[]>('network', 'ls')).length === 2, 20_000);
      const c = await topo.container(a.hostIndex, 'c');
      for (const net of ['blue', 'red']) await a.ctl<Endpoint>('endpoint', 'attach', net, '--netns', c.ns, '--ifname', `eth-${net}`);
    }
  }, 120_000);

  afterAll(() => tearDown(topo, agents));

  const peers = (i: number, network?: string) => agents[i].ctl<PeerRow[]>('peers', ...(network ? [network] : []));
  const rowOf = async (i: number, vtep: string, network?: string) => (await peers(i, network)).find((r) => r.vtep === vtep);
  /** Waits until agent `i` shows `vtep` in `state`; resolves with the row and how long it took. */
  const waitState = async (i: number, vtep: string, state: PeerRow['state'], timeoutMs: number, network?: string) => {
    const t0 = Date.now();
    const row = await waitFor(`${vtep} ${state} on ${agents[i].name}${network ? ` (${network})` : ''}`, async () => {
      const r = await rowOf(i, vtep, network);
      return r?.state === state ? r : undefined;
    }, timeoutMs);
    return { row, ms: Date.now() - t0 };
  };

  it('shows every other VTEP up on both networks, with its node, RTT, loss, clock and traffic', async () => {
    for (const [i, a] of agents.entries()) {
      for (const other of agents.filter((o) => o !== a)) await waitState(i, other.advertise, 'up', 30_000);
    }
    const rows = await peers(0);
    expect(rows.map((r) => r.vtep)).toEqual([agents[1].advertise, agents[2].advertise]);
    for (const [k, r] of rows.entries()) {
      expect(r).toMatchObject({ node: agents[k + 1].name, networks: ['blue', 'red'], state: 'up', mtu: 1416 });
      expect(r.reason).toBeUndefined();
      expect(r.rttMs).toBeGreaterThan(0);
      expect(r.rttMs).toBeLessThan(500);
      expect(r.lossPct).toBeGreaterThanOrEqual(0);
      expect(r.lossPct).toBeLessThanOrEqual(50);
      expect(Math.abs(r.clockOffsetMs!)).toBeLessThan(1000); // one machine, one clock
      expect(r.txPackets).toBeGreaterThan(0);
      expect(r.rxPackets).toBeGreaterThan(0);
      expect(r.txBytes).toBeGreaterThan(r.txPackets * 8);
      expect(Date.parse(r.lastRx!)).toBeGreaterThan(Date.now() - 5000);
      expect(Date.parse(r.lastTx!)).toBeGreaterThan(Date.now() - 5000);
    }
    for (const net of ['blue', 'red']) expect((await peers(0, net)).every((r) => r.state === 'up')).toBe(true);
  }, 90_000);

  it('puts probes on the underlay as VXLAN on the data port, and never on a container bridge', async () => {
    const before = (await rowOf(0, agents[1].advertise))!;
    const underlay = await topo.capture(topo.host(1).ns, topo.host(1).iface, 'udp dst port 4789', { count: 2, durationMs: 5000 });
    const bridge = await topo.capture(topo.host(1).ns, `ov-${BLUE_VNI}`, `ether proto ${PROBE_ETHERTYPE}`, { durationMs: 3000 });
    const [outer, inner] = await Promise.all([underlay.pcap, bridge.pcap]);
    expect(readPcap(outer).packets.length).toBeGreaterThan(0);
    expect(readPcap(inner).packets).toHaveLength(0);
    const after = (await rowOf(0, agents[1].advertise))!;
    expect(after.rxPackets).toBeGreaterThan(before.rxPackets); // replies came in meanwhile, and went to the agent
  }, 30_000);

  it('shows a host whose firewall drops UDP 4789 down within 10 s while gossip says alive, and up within 10 s of the rule going', async () => {
    const host3 = agents[2].advertise;
    const lift = await firewall(topo.host(3).ns, ['udp', 'dport', '4789']);
    try {
      const { row, ms } = await waitState(0, host3, 'down', 10_000);
      expect(ms).toBeLessThanOrEqual(10_000);
      expect(row.reason).toContain('network blue');
      expect(row.reason).toContain('udp/4789');
      expect(row.reason).toContain(`member ${agents[2].name} is alive`);
      expect((await rowOf(0, agents[1].advertise))?.state).toBe('up');
      expect((await rowOf(0, host3, 'red'))?.state).toBe('up'); // ESP (IP protocol 50) still passes
      const members = await agents[0].ctl<{ name: string; state: string }[]>('members');
      expect(members.find((m) => m.name === agents[2].name)?.state).toBe('alive');
      expect(agents[0].log()).toMatch(new RegExp(`peer ${agents[2].name} \\(${host3.replace(/\./g, '\\.')}\\) down`));
    } finally {
      await lift();
    }
    const { ms } = await waitState(0, host3, 'up', 10_000);
    expect(ms).toBeLessThanOrEqual(10_000);
    expect(agents[0].log()).toMatch(new RegExp(`peer ${agents[2].name} \\(${host3.replace(/\./g, '\\.')}\\) up`));
  }, 40_000);

  it('shows the encrypted network down when ESP is dropped, the plain one up', async () => {
    const host2 = agents[1].advertise;
    const lift = await firewall(topo.host(2).ns, ['meta', 'l4proto', 'esp']);
    try {
      const { row } = await waitState(0, host2, 'down', 10_000, 'red');
      expect(row.reason).toContain('ESP (IP protocol 50)');
      expect((await rowOf(0, host2, 'blue'))?.state).toBe('up');
      expect((await rowOf(0, host2))?.state).toBe('down');
    } finally {
      await lift();
    }
    await waitState(0, host2, 'up', 10_000);
  }, 40_000);

  it('shows an MTU black hole: full-size frames lost, small ones pass', async () => {
    const port = topo.names.switchPort(2);
    await nsExec(topo.switchNs, ['ip', 'link', 'set', port, 'mtu', '1400']);
    try {
      const { row } = await waitState(0, agents[1].advertise, 'down', 20_000, 'blue');
      expect(row.reason).toMatch(/frames of \d+ bytes lost, small ones pass/);
    } finally {
      await nsExec(topo.switchNs, ['ip', 'link', 'set', port, 'mtu', '1500']);
    }
    await waitState(0, agents[1].advertise, 'up', 15_000, 'blue');
  }, 60_000);

  it('shows a static peer without an agent as unknown', async () => {
    await agents[0].ctl('peer', 'add', 'blue', '--ip', '198.19.20.250', '--mac', '02:42:c6:13:14:fa', '--vtep', '198.18.0.250');
    const row = await waitFor('the static peer row', () => rowOf(0, '198.18.0.250'), 10_000);
    expect(row).toMatchObject({ node: null, networks: ['blue'], state: 'unknown', rttMs: null, lossPct: null });
    expect(row.reason).toContain('static peer');
  }, 30_000);
});
