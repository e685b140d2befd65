/**
 * Permanent underlay neighbour entries between every pair of hosts.
 *
 * Linux keeps one ARP table for all network namespaces, and its size limit
 * (`net.ipv4.neigh.default.gc_thresh3`, 1024 by default) is global too and
 * settable only from the root namespace. Fifty namespace hosts that gossip
 * in a full mesh need 50 × 49 = 2,450 underlay entries: past 1,024 the
 * kernel logs "neighbor table overflow", connects fail with EHOSTUNREACH,
 * joins time out and members flap between alive and dead — a limit of the
 * test machine, not of the cluster, and one that also starves every other
 * namespace test running at the same time.
 *
 * Permanent entries are exempt from that limit (since Linux 4.19, "neighbor:
 * Improve garbage collection"), so each host gets one for every other host's
 * underlay address, before any agent starts. Only the underlay is pinned:
 * the containers' overlay neighbours are still resolved by ARP through the
 * agents, which is part of what the benchmark measures.
 */
import { nsExec } from '../../../src/testkit/netns.js';
import type { Topology } from '../../../src/testkit/topology.js';

/** Underlay MAC address of every host, by host index. */
async function underlayMacs(topology: Topology): Promise<Map<number, string>> {
  const macs = new Map<number, string>();
  await Promise.all(
    topology.hosts.map(async (h) => {
      const { stdout } = await nsExec(h.ns, ['ip', '-json', 'link', 'show', 'dev', h.iface]);
      const [link] = JSON.parse(stdout) as { address: string }[];
      macs.set(h.index, link!.address);
    }),
  );
  return macs;
}

/** Gives every host of `topology` a permanent IPv4 neighbour entry for every other host's underlay address. */
export async function pinUnderlayNeighbours(topology: Topology): Promise<void> {
  const macs = await underlayMacs(topology);
  for (const host of topology.hosts) {
    const lines = topology.hosts
      .filter((other) => other.index !== host.index && other.addr4 !== undefined)
      .map((other) => `neigh replace ${other.addr4} lladdr ${macs.get(other.index)} dev ${host.iface} nud permanent`);
    if (lines.length > 0) await nsExec(host.ns, ['ip', '-batch', '-'], { input: `${lines.join('\n')}\n` });
  }
}
