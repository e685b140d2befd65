/**
 * The doctor's checks of this host: the underlay MTU against each network's
 * (with the VXLAN and ESP overhead), each container interface's MTU against
 * its network's, firewall rules in the agent's namespace that drop the data
 * port, the gossip port or ESP, the bridges, TAPs and veths of the networks
 * up here, the state folder, and the data path's own trouble counters.
 */
import type { DropReason } from '../dataplane/datapath.js';
import { encryptedOverlayMtu } from '../crypto/index.js';
import { bridgeName, hostVethName, tapName } from '../host/links.js';
import { overlayMtu } from '../host/mtu.js';
import { findDrops, type FirewallFinding, type FirewallFlow } from './doctor-firewall.js';
import { listOf, okUnless, row, type Check, type DoctorCheck, type DoctorFacts, type NetworkFact } from './doctor-report.js';

/** The largest overlay MTU an underlay of `underlayMtu` carries for `net`. */
export function largestMtu(net: NetworkFact, underlayMtu: number, family: 4 | 6): number {
  return net.encrypted ? encryptedOverlayMtu(underlayMtu, family, net.carrier ?? 'ip', net.keySize ?? 16) : overlayMtu(underlayMtu, family);
}

/** `mtu-underlay`: every network's MTU fits the underlay interface (a smaller link further on shows as a peer down: the full-size probes). */
const mtuUnderlay: Check = (f) => {
  if ('error' in f.underlay) return [row('mtu-underlay', 'fail', `the underlay interface could not be read: ${f.underlay.error}`, 'ip -json addr show: the --advertise-addr must be on an interface of the agent\'s namespace')];
  const { ifname, mtu } = f.underlay;
  const problems = f.networks.flatMap((net): DoctorCheck[] => {
    const largest = largestMtu(net, mtu, f.self.family);
    if (net.mtu <= largest) return [];
    const what = `${net.encrypted ? 'VXLAN + ESP' : 'VXLAN'} over IPv${f.self.family}`;
    const detail = `network ${net.name} has MTU ${net.mtu}, but ${ifname}'s MTU ${mtu} carries at most ${largest} (${what}): full-size frames do not fit`;
    return [row('mtu-underlay', 'fail', detail, `raise the underlay MTU (ip link set ${ifname} mtu ${mtu + net.mtu - largest}) or recreate the network with --mtu ${largest}`, net.name)];
  });
  return okUnless('mtu-underlay', problems, `${f.networks.length} network(s) fit ${ifname}'s MTU ${mtu}`);
};

/** `mtu-container`: each container interface has its network's MTU (larger: a black hole for big packets; smaller: big frames from peers are dropped at its veth). */
const mtuContainer: Check = (f) => {
  const problems = f.endpoints.flatMap((ep): DoctorCheck[] => {
    const net = f.networks.find((n) => n.name === ep.network);
    const where = `${ep.ifname} in ${ep.netns}`;
    const enter = ep.netns.includes('/') ? `nsenter --net=${ep.netns}` : `ip netns exec ${ep.netns}`;
    const set = `${enter} ip link set ${ep.ifname} mtu ${net?.mtu}`;
    if (ep.error) return [row('mtu-container', 'fail', `endpoint ${ep.id.slice(0, 12)} (${ep.network}): ${where} cannot be read: ${ep.error}`, `the container is gone or its interface was removed: overlayctl endpoint detach ${ep.id.slice(0, 12)}`, where)];
    if (!net || ep.mtu === undefined || ep.mtu === net.mtu) return [];
    if (ep.mtu > net.mtu) return [row('mtu-container', 'fail', `${where} has MTU ${ep.mtu}, above network ${net.name}'s ${net.mtu}: packets above ${net.mtu} bytes are black-holed where ICMP too-big does not get back`, set, where)];
    return [row('mtu-container', 'warn', `${where} has MTU ${ep.mtu}, below network ${net.name}'s ${net.mtu}: frames above ${ep.mtu} from other hosts are dropped at its veth`, set, where)];
  });
  const read = f.endpoints.filter((e) => e.mtu !== undefined).length;
  return okUnless('mtu-container', problems, `${read} container interface(s) at their network's MTU`);
};

/** The agent's own traffic of one kind, both ways. */
function flows(f: DoctorFacts, label: string, proto: FirewallFlow['proto'], port?: number, sport?: number): FirewallFlow[] {
  const ifname = 'error' in f.underlay ? '' : f.underlay.ifname;
  const others = f.members.filter((m) => m.name !== f.self.name).map((m) => m.addr);
  const remotes = [...new Set([...others, ...(proto === 'tcp' ? [] : f.staticPeers.map((p) => p.vtep))])];
  const base = { label, proto, dport: port, sport, family: f.self.family, local: f.self.advertiseAddr, remotes, ifname };
  return [{ ...base, direction: 'in' }, { ...base, direction: 'out' }];
}

/** One row per rule or policy that drops any of `wanted`, the flows it drops named. */
function firewallRows(check: string, f: DoctorFacts, wanted: FirewallFlow[]): DoctorCheck[] {
  const byRule = new Map<string, FirewallFinding[]>();
  for (const rs of f.firewall.rulesets) {
    for (const flow of wanted) {
      for (const found of findDrops(rs, flow)) {
        const key = found.rule?.where ?? `${found.path} policy`;
        byRule.set(key, [...(byRule.get(key) ?? []), found]);
      }
    }
  }
  return [...byRule].map(([key, found]) => {
    const certain = found.some((x) => x.certain);
    const what = [...new Set(found.map((x) => `${x.flow.direction === 'in' ? 'incoming' : 'outgoing'} ${x.flow.label}`))].join(', ');
    const maybe = certain ? '' : ' (when conditions this check cannot evaluate hold)';
    const via = found[0].path === found[0].chain.name ? '' : ` (reached by ${found[0].path})`;
    return row(check, certain ? 'fail' : 'warn', `${key}: "${found[0].text}" drops ${what}${maybe}${via}`, found[0].fix, key);
  });
}

function firewallCheck(check: string, f: DoctorFacts, wanted: FirewallFlow[], what: string): DoctorCheck[] {
  if (f.firewall.rulesets.length === 0 && f.firewall.unreadable.length > 0) {
    return [row(check, 'warn', `the firewall could not be read (${f.firewall.unreadable.join('; ')})`, `look for rules on ${what} by hand: nft list ruleset; iptables-save; install nftables for this check`)];
  }
  const sources = f.firewall.rulesets.map((r) => `${r.source}: ${r.chains.length} chain${r.chains.length === 1 ? '' : 's'}`).join(', ') || 'no rules';
  return okUnless(check, firewallRows(check, f, wanted), `no rule drops ${what} (${sources})`);
}

const firewallDataPort: Check = (f) => firewallCheck('firewall-data-port', f, flows(f, `udp ${f.self.dataPort} (data port)`, 'udp', f.self.dataPort), `udp ${f.self.dataPort}`);

const firewallGossipPort: Check = (f) => {
  const p = f.self.gossipPort;
  const wanted = [...flows(f, `udp ${p} (gossip)`, 'udp', p, p), ...flows(f, `tcp ${p} (gossip)`, 'tcp', p)];
  return firewallCheck('firewall-gossip-port', f, wanted, `tcp/udp ${p}`);
};

const firewallEsp: Check = (f) => {
  const encrypted = f.networks.filter((n) => n.encrypted);
  if (encrypted.length === 0) return [row('firewall-esp', 'ok', 'no encrypted network: ESP not used')];
  const wanted: FirewallFlow[] = [];
  if (encrypted.some((n) => n.carrier !== 'udp')) wanted.push(...flows(f, 'ESP (IP protocol 50)', 'esp'));
  if (encrypted.some((n) => n.carrier === 'udp')) wanted.push(...flows(f, `udp ${f.self.espPort} (ESP-in-UDP)`, 'udp', f.self.espPort));
  return firewallCheck('firewall-esp', f, wanted, [...new Set(wanted.map((w) => w.label))].join(' and '));
};

/** `network-links`: the bridge, TAP and endpoint veths of every network this host has endpoints on. */
const networkLinks: Check = (f) => {
  if ('error' in f.links) return [row('network-links', 'fail', `links could not be listed: ${f.links.error}`, 'ip link show')];
  const links = new Map(f.links.map((l) => [l.ifname, l]));
  const problems: DoctorCheck[] = [];
  const fail = (detail: string, hint: string, subject: string): number => problems.push(row('network-links', 'fail', detail, hint, subject));
  for (const net of f.networks.filter((n) => n.local)) {
    const [br, tap] = [bridgeName(net.vni), tapName(net.vni)];
    if (!net.up) {
      fail(`network ${net.name} has endpoints here but is not up on this host`, `the agent's log says why (journalctl -u overlayd | grep ${net.name}); an encrypted network waits for its keys: overlayctl keys ${net.name}`, net.name);
      continue;
    }
    for (const [name, role] of [[br, 'bridge'], [tap, 'TAP']] as const) {
      const l = links.get(name);
      if (!l) fail(`network ${net.name}: its ${role} ${name} is missing`, 'restart the agent: it recreates the bridge and TAP and keeps the containers', name);
      else if (!l.up) fail(`network ${net.name}: its ${role} ${name} is down`, `ip link set ${name} up`, name);
    }
    if (links.has(tap) && links.get(tap)!.master !== br) fail(`network ${net.name}: TAP ${tap} is not on bridge ${br}`, `ip link set ${tap} master ${br} up`, tap);
    for (const ep of f.endpoints.filter((e) => e.network === net.name)) {
      const veth = hostVethName(ep.id);
      const l = links.get(veth);
      if (!l) fail(`endpoint ${ep.id.slice(0, 12)} of ${net.name}: its host veth ${veth} is missing`, `the container went away: overlayctl endpoint detach ${ep.id.slice(0, 12)}`, veth);
      else if (l.master !== br) fail(`endpoint ${ep.id.slice(0, 12)} of ${net.name}: ${veth} is not on bridge ${br}`, `ip link set ${veth} master ${br} up`, veth);
    }
  }
  const up = f.networks.filter((n) => n.local).length;
  return okUnless('network-links', problems, `${up} network(s) with endpoints here: bridges, TAPs and veths in place`);
};

/** `state-dir`: the agent can write its state (what it learnt survives a restart). */
const stateDir: Check = (f) =>
  f.stateDir.error
    ? [row('state-dir', 'fail', `cannot write to ${f.self.stateDir}: ${f.stateDir.error}`, `df -h ${f.self.stateDir}; ls -ld ${f.self.stateDir}: the agent runs as root and needs it writable`, f.self.stateDir)]
    : [row('state-dir', 'ok', `${f.self.stateDir} is writable`)];

const DROP_HINTS: Partial<Record<DropReason, string>> = {
  punt_overflow: 'the agent\'s event loop does not keep up with frames handed to it (ARP/ND, captures): is it short of CPU (top -p $(pidof overlayd))? a broadcast storm from a container (overlayctl stats: arp_*/nd_*)?',
  tap_write: 'a TAP did not take frames (its queue is full or it went away): ip -s link show vx-VNI; a container that stopped reading',
  udp_send: 'sending to the underlay fails: ip route get VTEP (a route), an output firewall rule (EPERM), the underlay MTU (EMSGSIZE); the agent log names the error',
};

/** `datapath-drops`: the data path's own trouble counters rising while the doctor watched. */
const datapathDrops: Check = (f) => {
  const { before, after, seconds } = f.drops;
  const rising = (Object.keys(after) as DropReason[]).filter((r) => (after[r] ?? 0) > (before[r] ?? 0));
  const problems = rising.map((r) => {
    const rate = ((after[r]! - before[r]!) / Math.max(seconds, 0.001)).toFixed(1);
    return row('datapath-drops', 'warn', `${r} drops are rising: ${after[r]! - before[r]!} in ${seconds.toFixed(1)} s (${rate}/s, ${after[r]} in all)`, DROP_HINTS[r] ?? 'overlayctl stats', r);
  });
  const totals = Object.entries(after).map(([r, n]) => `${r} ${n}`);
  return okUnless('datapath-drops', problems, `not rising over ${seconds.toFixed(1)} s (${listOf(totals, 5)})`);
};

export const hostChecks: readonly Check[] = [mtuUnderlay, mtuContainer, firewallDataPort, firewallGossipPort, firewallEsp, networkLinks, stateDir, datapathDrops];
