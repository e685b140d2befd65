/**
 * Baseline (b): wireguard-go (userspace WireGuard) between the hosts of a
 * topology, containers routed over it — the userspace-tunnel yardstick:
 *
 *     container <p>wgc 198.19.<10+i>.2/24 ──veth── <p>wgh 198.19.<10+i>.1/24 (host i, forwarding on)
 *     host i: tun <p>w<i> 198.19.1.<i>/24, wireguard-go, UDP 51820 on the underlay
 *             route 198.19.<10+j>.0/24 dev <p>w<i> for every other host j
 *     peer j: allowed_ip 198.19.1.<j>/32, 198.19.<10+j>.0/24; endpoint = j's underlay address
 *
 * Configured through the UAPI socket (wireguard-uapi.ts), so the `wg` tool is
 * not needed. Its CPU cost is that of the wireguard-go processes.
 */
import { nsExec, type ContainerNamespace, type ManagedProcess, type Topology } from '../../src/testkit/netns.js';
import { findTunnelProcess, isProgram, processesCpuSeconds } from './cpu.js';
import type { BenchOverlay, OverlayEndpoint } from './overlay.js';
import { generateWireguardKeys, uapiSet, waitForUapiSocket, type WireguardKeyPair } from './wireguard-uapi.js';

/** Options of {@link wireguardOverlay}. */
export interface WireguardOptions {
  /** UDP listen port on every host. Default 51820. */
  port?: number;
  /** MTU of the tunnel and of the container links. Default 1420 (WireGuard's default: 1500 − 80). */
  mtu?: number;
}

/** A wireguard-go overlay with one container per host. */
export interface WireguardOverlay extends BenchOverlay {
  /** The container of every host, in host order. */
  readonly endpoints: readonly OverlayEndpoint[];
}

/** Overlay address of the container on host `i`. */
export function wireguardContainerAddr(i: number): string {
  return `198.19.${10 + i}.2`;
}

/** Builds the tunnel mesh over every host of `topology` (at least 2). The client is host 1's container, the server host 2's. */
export async function wireguardOverlay(topology: Topology, opts: WireguardOptions = {}): Promise<WireguardOverlay> {
  const port = opts.port ?? 51820;
  const mtu = String(opts.mtu ?? 1420);
  // One name per host: wireguard-go's UAPI socket path (/var/run/wireguard/<name>.sock) is shared by all namespaces.
  const tunOf = (i: number): string => topology.names.link(`w${i}`);
  const hostVeth = topology.names.link('wgh');
  const containerVeth = topology.names.link('wgc');
  const hosts = topology.hosts;
  const daemons: ManagedProcess[] = [];
  const containers: ContainerNamespace[] = [];
  let pids: number[] = [];

  const destroy = async (): Promise<void> => {
    for (const c of containers.splice(0)) await c.remove();
    for (const d of daemons.splice(0)) await d.stop('SIGTERM', 2000); // SIGTERM: it removes its tun and socket
  };

  try {
    const keys = new Map<number, WireguardKeyPair>();
    for (const host of hosts) {
      keys.set(host.index, await generateWireguardKeys());
      daemons.push(topology.spawn(host.ns, ['wireguard-go', '-f', tunOf(host.index)], { env: { LOG_LEVEL: 'error' } }));
    }
    for (const host of hosts) {
      const tun = tunOf(host.index);
      await waitForUapiSocket(tun);
      const lines = [`private_key=${keys.get(host.index)?.privateKeyHex}`, `listen_port=${port}`];
      for (const peer of hosts.filter((p) => p !== host)) {
        const endpoint = peer.addr4 ?? `[${peer.addr6}]`;
        lines.push(
          `public_key=${keys.get(peer.index)?.publicKeyHex}`,
          `endpoint=${endpoint}:${port}`,
          `allowed_ip=198.19.1.${peer.index}/32`,
          `allowed_ip=198.19.${10 + peer.index}.0/24`,
        );
      }
      await uapiSet(tun, lines);
      const h = (...cmd: string[]): Promise<unknown> => nsExec(host.ns, cmd);
      await h('ip', 'addr', 'add', `198.19.1.${host.index}/24`, 'dev', tun);
      await h('ip', 'link', 'set', tun, 'mtu', mtu, 'up');
      await h('sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
      for (const peer of hosts.filter((p) => p !== host)) {
        await h('ip', 'route', 'add', `198.19.${10 + peer.index}.0/24`, 'dev', tun);
      }
      const c = await topology.container(host.index, 'wg');
      containers.push(c);
      await h('ip', 'link', 'add', hostVeth, 'mtu', mtu, 'type', 'veth', 'peer', 'name', containerVeth, 'mtu', mtu, 'netns', c.ns);
      await h('ip', 'addr', 'add', `198.19.${10 + host.index}.1/24`, 'dev', hostVeth);
      await h('ip', 'link', 'set', hostVeth, 'up');
      await nsExec(c.ns, ['ip', 'addr', 'add', `${wireguardContainerAddr(host.index)}/24`, 'dev', containerVeth]);
      await nsExec(c.ns, ['ip', 'link', 'set', containerVeth, 'up']);
      await nsExec(c.ns, ['ip', 'route', 'add', 'default', 'via', `198.19.${10 + host.index}.1`]);
    }
    pids = daemons.map((d) => findTunnelProcess(d.pid, isProgram('wireguard-go'), 'wireguard-go'));
  } catch (error) {
    await destroy();
    throw error;
  }

  const endpoints = containers.map((c) => ({ ns: c.ns, addr4: wireguardContainerAddr(c.hostIndex) }));
  const [client, server] = endpoints;
  if (!client || !server) throw new Error('wireguardOverlay needs a topology of at least 2 hosts');
  return { name: 'wireguard-go', client, server, endpoints, cpuSeconds: processesCpuSeconds(pids), destroy };
}
