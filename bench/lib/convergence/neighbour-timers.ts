/**
 * Fast neighbour resolution inside a container namespace. A freshly
 * attached address is unknown to every other container; Linux resolves it
 * with ARP, and by default retries only once a second (`retrans_time_ms`
 * 1000) and gives up after three tries, so a benchmark that pings it would
 * measure in whole seconds. Here the retries come every `retransMs` and
 * practically never give up, so the first reply after the overlay has
 * converged arrives within one retry interval.
 *
 * The knobs are per interface: a namespace other than the root one has no
 * `net.ipv4.neigh.default` of its own, so they are set after the interface
 * exists.
 */
import { nsExec } from '../../../src/testkit/netns.js';

/** ARP/ND tries before an entry fails (a failed entry restarts on the next packet anyway). */
const SOLICIT_TRIES = 1000;

/** Sets ARP and IPv6 ND retries on `ifname` in `ns` to every `retransMs` milliseconds. */
export async function fastNeighbourResolution(ns: string, ifname: string, retransMs: number): Promise<void> {
  const settings: string[] = [];
  for (const family of ['ipv4', 'ipv6']) {
    const base = `net.${family}.neigh.${ifname}`;
    settings.push(`${base}.retrans_time_ms=${retransMs}`, `${base}.mcast_solicit=${SOLICIT_TRIES}`, `${base}.ucast_solicit=${SOLICIT_TRIES}`);
  }
  await nsExec(ns, ['sysctl', '-q', '-w', ...settings]);
}
