/**
 * `overlayctl peers` on three namespace hosts, once with each data path: the
 * agents probe each other's VTEPs over the data path itself (VXLAN on the
 * data port, ESP on the encrypted network) and show every peer `up` with a
 * sane RTT; an nftables rule in one host's namespace dropping UDP 4789 (what
 * an operator's firewall does) makes that peer `down` within 10 s, with a
 * reason, while gossip still says it is alive, and it is `up` again within
 * 10 s of the rule going (a `peer` event each way; `doctor` fails meanwhile,
 * naming the peer and the data port); dropping ESP breaks the encrypted network only;
 * a switch port with a smaller MTU loses the full-size probes only (an MTU
 * black hole). Probes never reach a container: the bridge sees none.
 * Garbage probes from a member are counted and dropped. A kernel vxlan
 * static peer (no agent) shows `unknown`, is never probed, and its traffic
 * shows in its counters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topology } from '../../src/testkit/topology.js';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';
import { nsExec, run, startCluster, tearDown, waitFor, type AgentHandle, type Endpoint } from '../../src/testkit/agents.js';
import type { PeerRow } from '../../src/agent/peer-health.js';
import { PROBE_ETHERTYPE, encodeProbe, encodeVxlan, readPcap } from '../../src/wire/index.js';
import type { ProbeStats } from '../../src/agent/peer-health.js';
import type { OverlayEvent } from '../../src/agent/events.js';
import type { DoctorReport } from '../../src/agent/doctor-report.js';
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

const METRICS_PORT = 9464;
const KERNEL_IP = '198.19.20.250';
const KERNEL_MAC = '02:42:c6:13:14:fa';

/** Host 4 as a host without an agent: the kernel's vxlan on blue's VNI, a namespace behind it, a static route to `ours`. */
async function kernelPeer(topo: Topology, local: string, ourVtep: string, ours: Endpoint): Promise<string> {
  const kernelNs = (await topo.container(4, 'k')).ns;
  const x = (...cmd: string[]) => nsExec(topo.host(4).ns, cmd);
  await x('ip', 'link', 'add', 'kvx', 'type', 'vxlan', 'id', String(BLUE_VNI), 'dstport', '4789', 'local', local, 'nolearning');
  await x('ip', 'link', 'add', 'kbr', 'type', 'bridge');
  await x('ip', 'link', 'set', 'kvx', 'master', 'kbr', 'up');
  await x('ip', 'link', 'set', 'kbr', 'up');
  await x('ip', 'link', 'add', 'kve', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', kernelNs);
  await x('ip', 'link', 'set', 'kve', 'master', 'kbr', 'up');
  await x('bridge', 'fdb', 'append', ours.mac, 'dev', 'kvx', 'dst', ourVtep, 'self', 'permanent');
  const k = (...cmd: string[]) => nsExec(kernelNs, cmd);
  await k('ip', 'link', 'set', 'eth0', 'address', KERNEL_MAC, 'mtu', '1450', 'up');
  await k('ip', 'addr', 'add', `${KERNEL_IP}/24`, 'dev', 'eth0');
  await k('ip', 'neigh', 'add', ours.ips[0], 'lladdr', ours.mac, 'dev', 'eth0', 'nud', 'permanent');
  return kernelNs;
}

/** Sends `count` copies of a VXLAN datagram from host namespace `ns` (its address `from`) to `to`:4789. */
async function sendDatagrams(ns: string, from: string, to: string, payload: Buffer, count: number): Promise<void> {
  const script = `const s=require('dgram').createSocket('udp4');const b=Buffer.from('${payload.toString('hex')}','hex');let n=0;` +
    `const go=()=>n++<${count}?s.send(b,4789,'${to}',go):s.close();s.bind(0,'${from}',go)`;
  const r = await run(['ip', 'netns', 'exec', ns, process.execPath, '-e', script], 20_000);
  if (r.code !== 0) throw new Error(`sending from ${ns} failed: ${r.stderr}`);
}

describe.skipIf(!ready).each(['native', 'js'] as const)('peers, %s data path', (datapath) => {
  let topo: Topology;
  let agents: AgentHandle[];
  const blueEndpoints: Endpoint[] = [];

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 4 }); // host 4: a kernel vxlan peer, no agent
    const extraArgs = ['--metrics-addr', `127.0.0.1:${METRICS_PORT}`]; // each agent in its own namespace
    agents = await startCluster(topo, { datapath, gossipKey: newGossipKey(), extraArgs }, [1, 2, 3]).catch(async (e) => {
      await topo.destroy();
      throw e;
    });
    await agents[0].ctl('network', 'create', 'blue', '--subnet', '198.19.20.0/24', '--vni', String(BLUE_VNI));
    await agents[0].ctl('network', 'create', 'red', '--subnet', '198.19.21.0/24', '--vni', String(RED_VNI), '--encrypted');
    for (const a of agents) {
      await waitFor(`networks on ${a.name}`, async () => (await a.ctl<unknown[]>('network', 'ls')).length === 2, 20_000);
      const c = await topo.container(a.hostIndex, 'c');
      for (const net of ['blue', 'red']) {
        const ep = await a.ctl<Endpoint>('endpoint', 'attach', net, '--netns', c.ns, '--ifname', `eth-${net}`);
        if (net === 'blue') blueEndpoints.push(ep);
      }
    }
  }, 120_000);

  afterAll(() => tearDown(topo, agents));

  const peers = (i: number, network?: string) => agents[i].ctl<PeerRow[]>('peers', ...(network ? [network] : []));
  /** Waits for agent `i`'s log to show `line`: the agent's stderr reaches the test a moment after the API answers. */
  const logLine = (i: number, line: RegExp) => waitFor(`log line ${line.source} from ${agents[i].name}`, async () => line.test(agents[i].log()), 5000);
  /** The `peer` events agent `i` kept about `vtep`, oldest first (overlayctl events --type peer: NDJSON). */
  const peerEvents = async (i: number, vtep: string): Promise<OverlayEvent[]> => {
    const r = await agents[i].ctlRaw('events', '--type', 'peer');
    expect(r.code).toBe(0);
    return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as OverlayEvent).filter((e) => e.vtep === vtep);
  };
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
    const text = await run([process.execPath, agents[0].ctlPath, '--socket', agents[0].socket, 'peers']);
    expect(text.stdout.split('\n')[0]).toMatch(/^VTEP\s+NODE\s+NETWORKS\s+STATE\s+RTT\s+LOSS/);
    expect(text.stdout).toMatch(new RegExp(`${agents[1].advertise.replace(/\./g, '\\.')}\\s+${agents[1].name}\\s+blue,red\\s+up\\s+\\d+\\.\\d\\d ms`));
  }, 90_000);

  it('exports the peers as metrics, labelled by VTEP and node', async () => {
    const script = `fetch('http://127.0.0.1:${METRICS_PORT}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`;
    const r = await run(['ip', 'netns', 'exec', topo.host(1).ns, process.execPath, '-e', script], 10_000);
    expect(r.code).toBe(0);
    const rows = await peers(0);
    for (const p of rows) {
      const labels = `{vtep="${p.vtep}",node="${p.node}"}`;
      expect(r.stdout).toContain(`overlayd_peer_up${labels} 1`);
      expect(r.stdout).toMatch(new RegExp(`overlayd_peer_rtt_seconds${labels.replace(/[{}.]/g, '\\$&')} 0\\.\\d+`));
      for (const m of ['tx_packets', 'rx_packets', 'tx_bytes', 'rx_bytes']) expect(r.stdout).toMatch(new RegExp(`overlayd_peer_${m}_total${labels.replace(/[{}.]/g, '\\$&')} [1-9]`));
    }
  });

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
      await logLine(0, new RegExp(`peer ${agents[2].name} \\(${host3.replace(/\./g, '\\.')}\\) down`));
      expect(await peerEvents(0, host3)).toContainEqual(expect.objectContaining({ type: 'peer', vtep: host3, node: agents[2].name, state: 'down' }));
      // doctor on host 1 fails, naming the peer and the data port; host 3's own doctor names its rule.
      const doctor = await agents[0].ctlRaw('doctor');
      expect(doctor.code).toBe(1);
      const check = (JSON.parse(doctor.stdout) as DoctorReport).checks.find((c) => c.check === 'peer-data-port' && c.status === 'fail');
      expect(check?.detail).toContain(host3);
      expect(check?.detail).toContain('udp/4789');
    } finally {
      await lift();
    }
    const { ms } = await waitState(0, host3, 'up', 10_000);
    expect(ms).toBeLessThanOrEqual(10_000);
    await logLine(0, new RegExp(`peer ${agents[2].name} \\(${host3.replace(/\./g, '\\.')}\\) up`));
    expect((await peerEvents(0, host3)).at(-1)).toMatchObject({ type: 'peer', vtep: host3, state: 'up' });
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

  it('counts garbage probes and stray replies from a member and drops them, and goes on probing', async () => {
    const stats = async () => (await agents[0].ctl<{ probes: ProbeStats }>('stats')).probes;
    const before = await stats();
    const garbage = Buffer.concat([encodeProbe({ kind: 'request', seq: 1, sentNs: 1n, wallMs: 1, size: 64 }).subarray(0, 14), Buffer.alloc(50, 0xee)]);
    const stray = encodeProbe({ kind: 'reply', seq: 0xfffffff0, sentNs: 5n, wallMs: 1, size: 64 });
    await sendDatagrams(topo.host(2).ns, agents[1].advertise, agents[0].advertise, encodeVxlan(BLUE_VNI, garbage), 200);
    await sendDatagrams(topo.host(2).ns, agents[1].advertise, agents[0].advertise, encodeVxlan(BLUE_VNI, stray), 50);
    const after = await waitFor('the garbage counted, and probing going on', async () => {
      const s = await stats();
      return s.malformed - before.malformed >= 200 && s.stray - before.stray >= 50 && s.sent > before.sent ? s : undefined;
    }, 10_000);
    expect(after.malformed - before.malformed).toBe(200);
    expect(after.stray - before.stray).toBeGreaterThanOrEqual(50); // a late reply of a real probe counts there too
    expect((await peers(0)).every((r) => r.state === 'up')).toBe(true);
  }, 30_000);

  it("shows a kernel vxlan static peer as unknown, never probed, its traffic in the counters", async () => {
    const kernelVtep = topo.host(4).addr4!;
    const ours = blueEndpoints[0];
    await agents[0].ctl('peer', 'add', 'blue', '--ip', KERNEL_IP, '--mac', KERNEL_MAC, '--vtep', kernelVtep);
    const kernelNs = await kernelPeer(topo, kernelVtep, topo.host(1).addr4!, ours);
    await waitFor('the static peer row', () => rowOf(0, kernelVtep), 10_000);
    await new Promise((r) => setTimeout(r, 2500)); // two probing rounds: nothing is sent to it
    const row = (await rowOf(0, kernelVtep))!;
    expect(row).toMatchObject({ node: null, networks: ['blue'], state: 'unknown', rttMs: null, lossPct: null, txPackets: 0, rxPackets: 0 });
    expect(row.reason).toContain('static peer');
    const text = await run([process.execPath, agents[0].ctlPath, '--socket', agents[0].socket, 'peers', 'blue']);
    expect(text.stdout).toContain(`${kernelVtep} unknown: static peer (peer add)`);
    const script = `const s=require('dgram').createSocket('udp4');s.send(Buffer.alloc(20),9,'${ours.ips[0]}',()=>s.close())`;
    await run(['ip', 'netns', 'exec', kernelNs, process.execPath, '-e', script], 10_000);
    const moved = await waitFor('its datagram counted', async () => ((await rowOf(0, kernelVtep))!.rxPackets > 0 ? rowOf(0, kernelVtep) : undefined), 10_000);
    expect(moved).toMatchObject({ state: 'unknown', rxPackets: 1, rxBytes: 14 + 20 + 8 + 20 });
    expect(Date.parse(moved!.lastRx!)).toBeGreaterThan(Date.now() - 5000);
  }, 30_000);
});
