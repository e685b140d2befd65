/**
 * The doctor's checks of the peers and the cluster: data-path reachability
 * of each peer VTEP and the clocks (from the probes), encrypted networks
 * without gossip encryption, member states, two members on one address, and
 * FDB entries whose owner is dead or has moved (stale FDB after node flaps,
 * moby/moby#35401).
 */
import { listOf, okUnless, row, type Check, type DoctorCheck, type DoctorFacts, type PeerRow } from './doctor-report.js';

/** Clock offsets beyond these are reported (key rotation schedules go by the clocks). */
export const CLOCK_WARN_MS = 2_000;
export const CLOCK_FAIL_MS = 60_000;

const agentPeers = (f: DoctorFacts): (PeerRow & { node: string })[] => (f.peers ?? []).filter((p): p is PeerRow & { node: string } => typeof p.node === 'string');
const staticPeers = (f: DoctorFacts): PeerRow[] => (f.peers ?? []).filter((p) => typeof p.node !== 'string');
const gossipState = (f: DoctorFacts, node: string): string => f.members.find((m) => m.name === node)?.state ?? 'unknown to gossip';

/** What lets the data port through, for the hint: plain VXLAN, and ESP on encrypted networks. */
function carriers(f: DoctorFacts, p: PeerRow): string {
  const nets = f.networks.filter((n) => p.networks.includes(n.name) && n.encrypted);
  const esp = [...new Set(nets.map((n) => (n.carrier === 'udp' ? `udp ${f.self.espPort}` : 'ESP (IP protocol 50)')))];
  return [`udp ${f.self.dataPort}`, ...esp].join(' and ');
}

/**
 * `peer-data-port`: each agent's VTEP answers the probes on the data path. A
 * VTEP not probed yet (`unknown`: just started, or its member not alive —
 * the `members` check's business) is counted in the ok row, not a problem.
 */
const peerDataPort: Check = (f) => {
  if (!f.peers) return [];
  const peers = agentPeers(f);
  const problems = peers
    .filter((p) => p.state === 'down')
    .map((p) => {
      const gossip = p.reason?.includes('gossip') ? '' : `; gossip says ${gossipState(f, p.node)}`;
      const detail = `${p.node} (VTEP ${p.vtep}) is down on the data path${p.reason ? `: ${p.reason}` : ''}${gossip}`;
      const hint = `something between the hosts drops ${carriers(f, p)}: run overlayctl doctor on ${p.node} (firewall rules), then tcpdump -ni any udp port ${f.self.dataPort} on both hosts`;
      return row('peer-data-port', 'fail', detail, hint, p.vtep);
    });
  const unknown = peers.filter((p) => p.state === 'unknown').length;
  return okUnless('peer-data-port', problems, `${peers.length - unknown} peer VTEP(s) answer on the data path${unknown ? `, ${unknown} not probed (yet)` : ''}`);
};

/** `static-peer`: static peers (hosts without an agent) that never answered. */
const staticPeer: Check = (f) => {
  if (!f.peers) return [];
  const peers = staticPeers(f);
  const problems = peers
    .filter((p) => p.state === 'down' || (p.state !== 'up' && !p.lastRx))
    .map((p) => {
      const ips = f.staticPeers.filter((s) => s.vtep === p.vtep);
      const rm = ips.map((s) => `overlayctl peer rm ${s.network} --ip ${s.ip}`).join('; ');
      const detail = `static peer VTEP ${p.vtep} (${listOf(p.networks)}) ${p.state === 'down' ? `is down${p.reason ? `: ${p.reason}` : ''}` : 'never answered'}`;
      return row('static-peer', p.state === 'down' ? 'fail' : 'warn', detail, `check its VXLAN device (ip -d link show type vxlan: dstport ${f.self.dataPort}, the VNI) and its firewall; if it is gone: ${rm}`, p.vtep);
    });
  return okUnless('static-peer', problems, `${peers.length} static peer(s), none silent`);
};

/** `clock-skew`: the peers' clocks against ours. */
const clockSkew: Check = (f) => {
  if (!f.peers) return [];
  const measured = agentPeers(f).filter((p) => typeof p.clockOffsetMs === 'number');
  const problems = measured
    .filter((p) => Math.abs(p.clockOffsetMs!) > CLOCK_WARN_MS)
    .map((p) => {
      const off = p.clockOffsetMs!;
      const detail = `${p.node}'s clock is ${(Math.abs(off) / 1000).toFixed(1)} s ${off > 0 ? 'ahead of' : 'behind'} this host's: key rotations and key ages go by the clocks`;
      return row('clock-skew', Math.abs(off) > CLOCK_FAIL_MS ? 'fail' : 'warn', detail, 'run NTP on every host (timedatectl status; chronyc tracking)', p.node);
    });
  return okUnless('clock-skew', problems, measured.length ? `${measured.length} peer clock(s) within ${CLOCK_WARN_MS / 1000} s` : 'no peer clock measured');
};

/** `gossip-key`: encrypted networks while gossip is not encrypted (their keys would travel in clear). */
const gossipKey: Check = (f) => {
  const encrypted = f.networks.filter((n) => n.encrypted).map((n) => n.name);
  if (f.self.gossipKey || encrypted.length === 0) {
    return [row('gossip-key', 'ok', f.self.gossipKey ? 'gossip is encrypted (--gossip-key)' : 'no encrypted network; gossip is not encrypted')];
  }
  const detail = `encrypted network(s) ${listOf(encrypted)} while this agent runs without --gossip-key: their data-plane keys travel in clear gossip`;
  return [row('gossip-key', 'warn', detail, 'restart every overlayd of the cluster with the same --gossip-key (overlayd --gossip-key FILE), then rotate the keys: overlayctl network rotate-key NETWORK', listOf(encrypted))];
};

/** `members`: suspect and dead members (a dead one's endpoints are hidden from the data path). */
const members: Check = (f) => {
  const problems = f.members
    .filter((m) => m.state === 'suspect' || m.state === 'dead')
    .map((m) => {
      const mine = new Set(f.networks.filter((n) => n.local).map((n) => n.name));
      const shared = [...new Set((f.remoteEndpoints.get(m.name) ?? []).filter((n) => mine.has(n)))];
      const cut = shared.length ? `: its endpoints on ${listOf(shared)} are unreachable from here` : '';
      const status = m.state === 'dead' && shared.length > 0 ? 'fail' : 'warn';
      const hint = `is its agent running (systemctl status overlayd on ${m.name})? can this host reach ${m.addr} on ${m.port} (tcp and udp)? A host taken away for good should leave (stop its agent)`;
      return row('members', status, `${m.name} (${m.addr}) is ${m.state}${cut}`, hint, m.name);
    });
  const alive = f.members.filter((m) => m.state === 'alive').length;
  return okUnless('members', problems, `${alive} member(s) alive, none suspect or dead`);
};

/** `duplicate-vtep`: two live members advertising one underlay address. */
const duplicateVtep: Check = (f) => {
  const byAddr = new Map<string, string[]>();
  for (const m of f.members) if (m.state === 'alive' || m.state === 'suspect') byAddr.set(m.addr, [...(byAddr.get(m.addr) ?? []), m.name]);
  const problems = [...byAddr]
    .filter(([, names]) => names.length > 1)
    .map(([addr, names]) =>
      row('duplicate-vtep', 'fail', `members ${names.join(', ')} all advertise ${addr}: frames for one go to whichever holds the address`, `give each host its own --advertise-addr; stop the agent that should not have ${addr}`, addr),
    );
  return okUnless('duplicate-vtep', problems, `${byAddr.size} VTEP address(es), each advertised by one member`);
};

/** `stale-fdb`: FDB entries in the data path whose owner is dead, gone or elsewhere. */
const staleFdb: Check = (f) => {
  const problems = f.fdb.flatMap((e): DoctorCheck[] => {
    const where = `FDB ${e.network} ${e.mac} → ${e.vtep}`;
    const resync = 'the agent rebuilds its tables on the next change; if it stays, restart the agent (containers are kept) and report the bug';
    if (e.origin === 'none') return [row('stale-fdb', 'fail', `${where}: no endpoint or static peer has that MAC`, resync, e.mac)];
    if (e.origin !== 'endpoint') return [];
    if (e.ownerState !== 'alive' && e.ownerState !== 'suspect') {
      return [row('stale-fdb', 'fail', `${where}: its owner ${e.owner} is ${e.ownerState ?? 'unknown to gossip'}`, resync, e.mac)];
    }
    if (e.ownerAddr !== undefined && e.ownerAddr !== e.vtep) {
      return [row('stale-fdb', 'fail', `${where}: its owner ${e.owner} is now at ${e.ownerAddr}`, resync, e.mac)];
    }
    return [];
  });
  return okUnless('stale-fdb', problems, `${f.fdb.length} FDB entr${f.fdb.length === 1 ? 'y' : 'ies'}, every owner alive at its VTEP`);
};

/** Reachability from the probes; empty until a probe source is wired. */
export const peerChecks: readonly Check[] = [peerDataPort, staticPeer, clockSkew];
export const clusterChecks: readonly Check[] = [gossipKey, members, duplicateVtep, staleFdb];
