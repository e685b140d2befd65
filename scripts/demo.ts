/**
 * `npm run demo`: three namespace hosts on this machine, an overlayd agent on
 * each joined by gossip, one dual-stack network created on host 1, two
 * containers per host with addresses allocated cluster-wide; every pair
 * reaches every other (a UDP echo of overlayd's perf worker: no ping
 * needed), the tables are printed, `overlayctl peers` shows each host's data
 * path probed, `overlayctl doctor` checks the host, `overlayctl trace` walks a packet through
 * the data path (forwarded, unknown, too big), `overlayctl perf` measures throughput,
 * RTT and loss; then an encrypted network (ESP) between one container per
 * host: reachability, its keys, a key rotation, perf again; and everything
 * is removed again. Needs root (namespaces, TAP devices), node and iproute2;
 * iperf3, when installed, adds its figure beside perf's.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Topology } from '../src/testkit/topology.js';
import { haveTool } from '../src/testkit/ci.js';
import { run, startAgents, tearDown, waitFor, type AgentHandle, type Endpoint } from '../src/testkit/agents.js';
import { loadAddon } from '../src/dataplane/addon.js';
import { runIperf3 } from '../bench/lib/iperf3.js';
import { reach, startEchoes } from '../src/testkit/reach.js';

const HOSTS = 3;
const PER_HOST = 2;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('overlayd demo: needs root (network namespaces and TAP devices); run it as root.');
    process.exit(1);
  }
  const started = Date.now();
  const datapath = loadAddon().supported ? 'native' : 'js';
  const step = (s: string) => console.log(`\n== ${s} (${((Date.now() - started) / 1000).toFixed(1)} s)`);

  step(`building ${HOSTS} namespace hosts on one underlay switch`);
  const topo = await Topology.create({ hosts: HOSTS });
  let agents: AgentHandle[] = [];
  try {
    // Encrypted gossip: the cluster's key (encrypted networks' keys travel only inside it).
    const gossipKey = ['--gossip-key', randomBytes(32).toString('base64')];
    agents = await startAgents(topo, { datapath, extraArgs: gossipKey }, [1]);
    const join = [...gossipKey, '--join', topo.host(1).addr4!];
    agents.push(...(await startAgents(topo, { datapath, extraArgs: join }, Array.from({ length: HOSTS - 1 }, (_, i) => i + 2))));
    await waitFor('every agent to see every member', async () => {
      for (const a of agents) if ((await a.ctl<{ state: string }[]>('members')).filter((m) => m.state === 'alive').length !== HOSTS) return false;
      return true;
    }, 20_000);
    console.log(agents.map((a) => `  ${a.name} in ${a.ns}, VTEP ${a.advertise}, ${datapath} data path${a.hostIndex > 1 ? `, joined ${topo.host(1).addr4}` : ''}`).join('\n'));

    step('creating network "demo" (198.19.10.0/24 + 2001:db8:10::/64) on node1; attaching containers on every host');
    await agents[0].ctl('network', 'create', 'demo', '--subnet', '198.19.10.0/24', '--subnet', '2001:db8:10::/64');
    for (const a of agents) await waitFor(`network demo on ${a.name}`, async () => (await a.ctl<unknown[]>('network', 'ls')).length === 1, 10_000);
    for (const a of agents) {
      for (let k = 0; k < PER_HOST; k++) {
        const c = await topo.container(a.hostIndex, `c${k}`);
        await a.ctl<Endpoint>('endpoint', 'attach', 'demo', '--netns', c.ns);
      }
    }
    // Every host learns every endpoint by gossip.
    const eps = await waitFor('every endpoint on every host', async () => {
      const views = await Promise.all(agents.map((a) => a.ctl<Endpoint[]>('endpoint', 'ls')));
      return views.every((v) => v.length === HOSTS * PER_HOST) ? views[0].sort((x, y) => x.node.localeCompare(y.node)) : undefined;
    }, 20_000);
    for (const e of eps) console.log(`  ${e.node}: ${e.ips.join(' ')}  ${e.mac}`);

    step('every pair reaches every other (IPv4 / IPv6; a UDP echo in each container, no ping needed)');
    const echoes = await startEchoes(eps.map((e) => e.netns));
    const width = 14;
    console.log(' '.repeat(width) + eps.map((e) => e.ip.padEnd(width)).join(''));
    let failures = 0;
    for (const from of eps) {
      const others = eps.filter((to) => to !== from);
      const ok = new Map((await reach(from.netns, others.flatMap((to) => to.ips))).map((r) => [r.to, r.reachable]));
      const cells = eps.map((to) => (to === from ? '-' : to.ips.map((ip) => (ok.get(ip) ? 'ok' : 'FAIL')).join('/')));
      failures += cells.filter((c) => c.includes('FAIL')).length;
      console.log(from.ip.padEnd(width) + cells.map((c) => c.padEnd(width)).join(''));
    }
    await echoes.stop();

    step(`tables on ${agents[0].name}`);
    for (const cmd of [['fdb'], ['neigh'], ['stats']]) await show(agents[0], cmd);

    step(`the data path to each host, probed over the data port itself (overlayctl peers), and a health check (overlayctl doctor)`);
    await waitFor('every peer of node1 up', async () => (await agents[0].ctl<{ state: string }[]>('peers')).every((p) => p.state === 'up'), 20_000).catch(() => undefined);
    failures += (await show(agents[0], ['peers'])) === 0 ? 0 : 1;
    failures += (await show(agents[0], ['doctor'])) === 0 ? 0 : 1;

    step(`one packet through ${agents[0].name}'s data path, stage by stage (overlayctl trace: nothing is sent)`);
    await show(agents[0], ['trace', 'demo', '--src', eps[0].ip, '--dst', eps[PER_HOST].ip]);
    await show(agents[0], ['trace', 'demo', '--src', eps[0].ip, '--dst', '198.19.10.250']);
    await show(agents[0], ['trace', 'demo', '--src', eps[0].ip, '--dst', eps[PER_HOST].ip, '--proto', 'udp', '--size', '1500', '--df']);

    step(`throughput, RTT and loss ${agents[0].name} ⇄ ${agents[1].name} on "demo" (overlayctl perf, test endpoints on both hosts)`);
    failures += await perf(agents[0], 'demo', agents[1].name);
    await iperf3Beside(eps[0], eps[PER_HOST]);
    failures += await encryptedNetwork(topo, agents, step);
    console.log(`\n${failures === 0 ? 'all pairs reachable' : `${failures} checks FAILED`}; done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (failures) process.exitCode = 1;
  } finally {
    step('removing everything');
    await tearDown(topo, agents);
    const left = execFileSync('ip', ['netns', 'list']).toString().split('\n').filter((l) => l.startsWith(topo.prefix));
    console.log(left.length ? `left behind: ${left.join(', ')}` : '  nothing left behind');
  }
}

/** `overlayctl perf NETWORK --to NODE` as an operator runs it (3 s); returns 1 when it failed. */
async function perf(agent: AgentHandle, network: string, to: string): Promise<number> {
  return (await show(agent, ['perf', network, '--to', to, '--seconds', '3'])) === 0 ? 0 : 1;
}

/** Runs `overlayctl ARGS` on `agent` as an operator would and prints the command and its output, indented; returns the exit status. */
async function show(agent: AgentHandle, args: string[]): Promise<number> {
  console.log(`$ overlayctl ${args.join(' ')}`);
  const r = await run([process.execPath, agent.ctlPath, '--socket', agent.socket, ...args]);
  process.stdout.write((r.stdout + r.stderr).replace(/^(?=.)/gm, '  '));
  return r.code;
}

/** iperf3 between two containers (`from` sends to `to`, as perf's default), when it is installed; one line either way. */
async function iperf3Beside(from: Endpoint, to: Endpoint): Promise<void> {
  if (!haveTool('iperf3')) {
    console.log('  iperf3 is not installed: no iperf3 figure beside perf\'s (optional; apt-get install iperf3)');
    return;
  }
  const r = await runIperf3({ serverNs: to.netns, serverAddr: to.ip, clientNs: from.netns, seconds: 3 });
  console.log(`  iperf3 ${from.node} → ${to.node} between two containers, TCP ×1, 3 s: ${r.gbps.toFixed(2)} Gbit/s`);
}

/** The encrypted part: one container per host on an ESP network; returns the failed checks. */
async function encryptedNetwork(topo: Topology, agents: AgentHandle[], step: (s: string) => void): Promise<number> {
  step('creating encrypted network "secret" (198.19.20.0/24, ESP AES-128-GCM) on node1; one container per host');
  await agents[0].ctl('network', 'create', 'secret', '--subnet', '198.19.20.0/24', '--encrypted');
  for (const a of agents) await waitFor(`network secret on ${a.name}`, async () => (await a.ctl<unknown[]>('network', 'ls')).length === 2, 10_000);
  const eps: Endpoint[] = [];
  for (const a of agents) eps.push(await a.ctl<Endpoint>('endpoint', 'attach', 'secret', '--netns', (await topo.container(a.hostIndex, 's0')).ns));
  await waitFor('every encrypted endpoint on every host', async () => {
    const views = await Promise.all(agents.map((a) => a.ctl<Endpoint[]>('endpoint', 'ls', 'secret')));
    return views.every((v) => v.length === HOSTS);
  }, 20_000);
  let failures = 0;
  const echoes = await startEchoes(eps.map((e) => e.netns));
  const reachAll = async (label: string): Promise<void> => {
    const results: string[] = [];
    for (const from of eps) {
      const others = eps.filter((to) => to !== from);
      const found = await reach(from.netns, others.map((to) => to.ip));
      others.forEach((to, i) => results.push(`${from.node}→${to.node} ${found[i].reachable ? 'ok' : 'FAIL'}`));
      failures += found.filter((r) => !r.reachable).length;
    }
    console.log(`  ${label}: ${results.join(', ')}`);
  };
  await reachAll('reachable');
  await show(agents[0], ['keys', 'secret']);
  step('rotating the key of "secret" (overlayctl network rotate-key secret)');
  await agents[0].ctl('network', 'rotate-key', 'secret');
  await reachAll('reachable after the rotation');
  await echoes.stop();
  step(`throughput, RTT and loss ${agents[0].name} ⇄ ${agents[1].name} on "secret" (overlayctl perf)`);
  failures += await perf(agents[0], 'secret', agents[1].name);
  await iperf3Beside(eps[0], eps[1]);
  const drops = (await agents[1].ctl<{ drops: Record<string, number> }>('stats')).drops;
  console.log(`  ${agents[1].name}: plaintext_on_encrypted=${drops.plaintext_on_encrypted} esp_bad_icv=${drops.esp_bad_icv} esp_replay=${drops.esp_replay} no_sa=${drops.no_sa}`);
  return failures;
}

main().catch((err: Error) => {
  console.error(`demo: ${err.message}`);
  process.exit(1);
});
