/**
 * The doctor's look at the underlay between this host and its peers: the
 * route to each peer VTEP (missing; leaving from another source address than
 * this host's VTEP, which the peers drop as `unknown_vtep`; a smaller path
 * MTU the kernel learnt from ICMP), and the conntrack table (full, it drops
 * new flows — the data port's included — with only a kernel log line).
 */
import { readFile } from 'node:fs/promises';
import { ipJson } from '../host/command.js';
import { largestMtu } from './doctor-host.js';
import { mapBounded, okUnless, row, type Check, type DoctorCheck, type RouteFact } from './doctor-report.js';

/** conntrack of the agent's namespace is at least this full: reported. */
export const CONNTRACK_WARN = 0.9;

/** `ip route get` for each VTEP. */
export async function readRoutes(vteps: string[]): Promise<RouteFact[]> {
  type Route = { dev?: string; prefsrc?: string; mtu?: number; metrics?: { mtu?: number }[] };
  return mapBounded(vteps, async (addr): Promise<RouteFact> => {
    try {
      const [r] = await ipJson<Route[]>('route', 'get', addr);
      const mtu = r?.mtu ?? r?.metrics?.find((m) => m.mtu !== undefined)?.mtu;
      return { addr, dev: r?.dev, prefsrc: r?.prefsrc, ...(mtu !== undefined && { mtu }) };
    } catch (err) {
      return { addr, error: (err as Error).message };
    }
  });
}

/** The conntrack table's use in the agent's namespace; undefined when conntrack is not loaded. */
export async function readConntrack(): Promise<{ count: number; max: number } | undefined> {
  const read = (name: string) => readFile(`/proc/sys/net/netfilter/${name}`, 'utf8').then(Number);
  try {
    return { count: await read('nf_conntrack_count'), max: await read('nf_conntrack_max') };
  } catch {
    return undefined;
  }
}

/** `underlay-route`: every peer VTEP has a route, from this host's VTEP address, with room for the networks. */
const underlayRoute: Check = (f) => {
  const wildcard = f.self.listenAddr === '0.0.0.0' || f.self.listenAddr === '::';
  const problems = f.routes.flatMap((r): DoctorCheck[] => {
    if (r.error) return [row('underlay-route', 'fail', `no route to VTEP ${r.addr}: ${r.error}`, `ip route get ${r.addr}; add the route the underlay needs`, r.addr)];
    if (wildcard && r.prefsrc && r.prefsrc !== f.self.advertiseAddr) {
      return [row('underlay-route', 'fail', `packets to ${r.addr} leave from ${r.prefsrc} (${r.dev}), not from this host's VTEP ${f.self.advertiseAddr}: the peer drops them (unknown_vtep)`, `start overlayd with --listen-addr ${f.self.advertiseAddr}, or fix the route's source (ip route change … src ${f.self.advertiseAddr})`, r.addr)];
    }
    const tight = r.mtu === undefined ? [] : f.networks.filter((n) => n.mtu > largestMtu(n, r.mtu!, f.self.family)).map((n) => n.name);
    if (tight.length) return [row('underlay-route', 'fail', `the kernel learnt a path MTU of ${r.mtu} to ${r.addr}: too small for ${tight.join(', ')}`, `a link on the way has a smaller MTU (tracepath ${r.addr}); fix it or lower the networks' --mtu`, r.addr)];
    return [];
  });
  return okUnless('underlay-route', problems, `${f.routes.length} peer VTEP(s) routed from ${f.self.advertiseAddr}`);
};

/** `conntrack`: a full conntrack table drops new flows, the overlay's among them. */
const conntrack: Check = (f) => {
  const ct = f.conntrack;
  if (!ct) return [row('conntrack', 'ok', 'conntrack is not in use in this namespace')];
  const use = ct.count / ct.max;
  const detail = `conntrack table ${ct.count} of ${ct.max} (${Math.round(use * 100)} %)`;
  if (use < CONNTRACK_WARN) return [row('conntrack', 'ok', detail)];
  const hint = `new flows are dropped when it is full (dmesg | grep 'table full'): sysctl -w net.netfilter.nf_conntrack_max=${ct.max * 2}, or exempt the overlay: nft add rule inet raw prerouting udp dport ${f.self.dataPort} notrack`;
  return [row('conntrack', ct.count >= ct.max ? 'fail' : 'warn', `${detail}: ${ct.count >= ct.max ? 'full' : 'nearly full'}`, hint, 'nf_conntrack')];
};

export const underlayChecks: readonly Check[] = [underlayRoute, conntrack];
