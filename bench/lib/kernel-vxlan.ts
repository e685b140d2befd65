/**
 * Baseline (a): the Linux kernel's own VXLAN, built the way Docker's overlay
 * driver builds it, on every host of a topology:
 *
 *     container <p>kvc 198.19.0.<i>/24 ──veth── <p>kvh ┐
 *                                                       ├─ bridge <p>kvb ─ vxlan <p>kvx (id 4096, dstport 4789,
 *                                                       ┘                   nolearning, local = underlay address)
 *
 * No flooding and no learning: each VXLAN device gets a static FDB entry per
 * remote container MAC (`bridge fdb append <mac> dev <vx> dst <vtep>`), and
 * each container a permanent neighbour entry per remote container, so no ARP
 * ever crosses the underlay.
 *
 * Its CPU cost is the kernel's softirq time on all CPUs (it has no process).
 */
import { nsExec, sh, type ContainerNamespace, type Topology } from '../../src/testkit/netns.js';
import { softirqCpuSeconds } from './cpu.js';
import type { BenchOverlay, OverlayEndpoint } from './overlay.js';

/** Options of {@link kernelVxlanOverlay}. */
export interface KernelVxlanOptions {
  /** VXLAN network identifier. Default 4096 (Docker's first auto VNI). */
  vni?: number;
  /** UDP destination port. Default 4789. */
  port?: number;
  /** Overlay MTU. Default 1450 over an IPv4 underlay, 1430 over IPv6. */
  mtu?: number;
}

/** A kernel VXLAN overlay with one container per host. */
export interface KernelVxlanOverlay extends BenchOverlay {
  /** The container of every host, in host order. */
  readonly endpoints: readonly OverlayEndpoint[];
}

/** Overlay address of the container on host `i`. */
export function vxlanContainerAddr(i: number): string {
  return `198.19.0.${i}`;
}

/** Docker-style MAC of the container on host `i`: 02:42 + the four bytes of its IPv4 address. */
export function vxlanContainerMac(i: number): string {
  return `02:42:c6:13:00:${i.toString(16).padStart(2, '0')}`;
}

/** Builds the overlay on every host of `topology` (at least 2). The client is host 1's container, the server host 2's. */
export async function kernelVxlanOverlay(topology: Topology, opts: KernelVxlanOptions = {}): Promise<KernelVxlanOverlay> {
  const vni = String(opts.vni ?? 4096);
  const port = String(opts.port ?? 4789);
  const names = {
    bridge: topology.names.link('kvb'),
    vxlan: topology.names.link('kvx'),
    hostVeth: topology.names.link('kvh'),
    containerVeth: topology.names.link('kvc'),
  };
  const hosts = topology.hosts;
  const vtep = (i: number): string => hosts[i - 1]?.addr4 ?? hosts[i - 1]?.addr6 ?? '';
  const mtu = String(opts.mtu ?? (hosts[0]?.addr4 ? 1450 : 1430));
  const containers: ContainerNamespace[] = [];

  const destroy = async (): Promise<void> => {
    for (const c of containers.splice(0)) await c.remove();
    for (const host of hosts) {
      for (const link of [names.vxlan, names.bridge]) await nsExec(host.ns, ['ip', 'link', 'del', link]).catch(() => undefined);
    }
  };

  try {
    for (const host of hosts) {
      const c = await topology.container(host.index, 'kvx');
      containers.push(c);
      const h = (...cmd: string[]): Promise<unknown> => nsExec(host.ns, cmd);
      await h('ip', 'link', 'add', names.bridge, 'type', 'bridge', 'stp_state', '0');
      await h('ip', 'link', 'add', names.vxlan, 'mtu', mtu, 'type', 'vxlan', 'id', vni, 'dstport', port,
        'local', vtep(host.index), 'nolearning', 'dev', host.iface);
      await h('ip', 'link', 'set', names.vxlan, 'master', names.bridge, 'up');
      await h('ip', 'link', 'add', names.hostVeth, 'mtu', mtu, 'type', 'veth', 'peer', 'name', names.containerVeth, 'mtu', mtu, 'netns', c.ns);
      await h('ip', 'link', 'set', names.hostVeth, 'master', names.bridge, 'up');
      await h('ip', 'link', 'set', names.bridge, 'up');
      await nsExec(c.ns, ['ip', 'link', 'set', names.containerVeth, 'address', vxlanContainerMac(host.index), 'up']);
      await nsExec(c.ns, ['ip', 'addr', 'add', `${vxlanContainerAddr(host.index)}/24`, 'dev', names.containerVeth]);
      for (const peer of hosts.filter((p) => p !== host)) {
        await sh(['bridge', '-n', host.ns, 'fdb', 'append', vxlanContainerMac(peer.index), 'dev', names.vxlan,
          'dst', vtep(peer.index), 'self', 'permanent']);
        await nsExec(c.ns, ['ip', 'neigh', 'replace', vxlanContainerAddr(peer.index), 'lladdr', vxlanContainerMac(peer.index),
          'dev', names.containerVeth, 'nud', 'permanent']);
      }
    }
  } catch (error) {
    await destroy();
    throw error;
  }

  const endpoints = containers.map((c) => ({ ns: c.ns, addr4: vxlanContainerAddr(c.hostIndex) }));
  const [client, server] = endpoints;
  if (!client || !server) throw new Error('kernelVxlanOverlay needs a topology of at least 2 hosts');
  return { name: 'kernel VXLAN', client, server, endpoints, cpuSeconds: softirqCpuSeconds, destroy };
}
