/**
 * Baseline (c): Nebula (slackhq/nebula, the Debian package), the other
 * userspace tunnel users pick, between hosts 1 and 2 of a topology,
 * containers routed over it the way the wireguard-go row routes them:
 *
 *     container <p>nbc 198.19.<40+i>.2/24 ──veth── <p>nbh 198.19.<40+i>.1/24 (host i, forwarding on)
 *     host i: tun <p>n<i> 198.19.3.<i>/24, nebula, UDP 4242 on the underlay address
 *             cert of i: ip 198.19.3.<i>/24, subnets 198.19.<40+i>.0/24 (what i may route for)
 *             unsafe_routes: 198.19.<40+j>.0/24 via 198.19.3.<j> for the other host j
 *             static_host_map: 198.19.3.<j> → j's underlay address:4242; no lighthouse
 *
 * A CA and both node certificates are made with nebula-cert in a temporary
 * folder named with the topology prefix, removed by destroy(). The cipher is
 * AES-GCM (`cipher: aes`), the firewall lets anything through, MTU 1420 as
 * in the wireguard-go row. Its CPU cost is that of the two nebula processes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nsExec, sh, type ContainerNamespace, type ManagedProcess, type Topology } from '../../src/testkit/netns.js';
import { waitFor } from '../../src/testkit/agents.js';
import { findTunnelProcess, isProgram, processesCpuSeconds } from './cpu.js';
import type { BenchOverlay, OverlayEndpoint } from './overlay.js';
import { runPing } from './ping.js';

/** Options of {@link nebulaOverlay}. */
export interface NebulaOptions {
  /** UDP listen port on both hosts. Default 4242 (Nebula's). */
  port?: number;
  /** MTU of the tunnel, its routes and the container links. Default 1420, as the wireguard-go row. */
  mtu?: number;
}

/** A Nebula overlay with one container on each of hosts 1 and 2. */
export interface NebulaOverlay extends BenchOverlay {
  /** The two containers, host 1's then host 2's. */
  readonly endpoints: readonly OverlayEndpoint[];
}

/** The tools the row needs. */
export const NEBULA_TOOLS = ['nebula', 'nebula-cert'] as const;

/** Nebula address (in its certificate) of host `i`. */
export function nebulaNodeAddr(i: number): string {
  return `198.19.3.${i}`;
}

/** The container subnet host `i` routes for (third octet). */
function subnetOctet(i: number): number {
  return 40 + i;
}

/** Overlay address of the container on host `i`. */
export function nebulaContainerAddr(i: number): string {
  return `198.19.${subnetOctet(i)}.2`;
}

/** Builds the tunnel between hosts 1 and 2 of `topology`; client is host 1's container, server host 2's. Resolves once a ping passes. */
export async function nebulaOverlay(topology: Topology, opts: NebulaOptions = {}): Promise<NebulaOverlay> {
  const port = opts.port ?? 4242;
  const mtu = opts.mtu ?? 1420;
  const hosts = [topology.host(1), topology.host(2)];
  const hostVeth = topology.names.link('nbh');
  const containerVeth = topology.names.link('nbc');
  const dir = mkdtempSync(join(tmpdir(), `${topology.prefix}-nebula-`));
  const daemons: ManagedProcess[] = [];
  const containers: ContainerNamespace[] = [];

  const destroy = async (): Promise<void> => {
    for (const c of containers.splice(0)) await c.remove();
    for (const d of daemons.splice(0)) await d.stop('SIGTERM', 2000); // SIGTERM: it closes its tun, which goes with it
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const ca = { crt: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
    await sh(['nebula-cert', 'ca', '-name', `${topology.prefix} bench`, '-out-crt', ca.crt, '-out-key', ca.key]);
    for (const host of hosts) {
      const i = host.index;
      const peer = hosts.find((h) => h !== host);
      if (!host.addr4 || !peer?.addr4) throw new Error('nebulaOverlay needs an IPv4 underlay');
      const cert = { crt: join(dir, `host${i}.crt`), key: join(dir, `host${i}.key`) };
      await sh(['nebula-cert', 'sign', '-ca-crt', ca.crt, '-ca-key', ca.key, '-name', `host${i}`,
        '-ip', `${nebulaNodeAddr(i)}/24`, '-subnets', `198.19.${subnetOctet(i)}.0/24`, '-out-crt', cert.crt, '-out-key', cert.key]);
      const config = join(dir, `host${i}.yml`);
      // JSON is YAML: Nebula reads this file as its config.
      writeFileSync(config, JSON.stringify(nebulaConfig({
        ca: ca.crt, cert: cert.crt, key: cert.key, listen: host.addr4, port, mtu,
        tun: topology.names.link(`n${i}`),
        peer: { nebulaAddr: nebulaNodeAddr(peer.index), underlay: `${peer.addr4}:${port}`, subnet: `198.19.${subnetOctet(peer.index)}.0/24` },
      }), null, 2));
      const daemon = topology.spawn(host.ns, ['nebula', '-config', config]);
      daemons.push(daemon);
      await daemon.waitForLine(/Nebula interface is active/, 10_000);

      const h = (...cmd: string[]): Promise<unknown> => nsExec(host.ns, cmd);
      await h('sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
      const c = await topology.container(i, 'nb');
      containers.push(c);
      await h('ip', 'link', 'add', hostVeth, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', containerVeth, 'mtu', String(mtu), 'netns', c.ns);
      await h('ip', 'addr', 'add', `198.19.${subnetOctet(i)}.1/24`, 'dev', hostVeth);
      await h('ip', 'link', 'set', hostVeth, 'up');
      await nsExec(c.ns, ['ip', 'addr', 'add', `${nebulaContainerAddr(i)}/24`, 'dev', containerVeth]);
      await nsExec(c.ns, ['ip', 'link', 'set', containerVeth, 'up']);
      await nsExec(c.ns, ['ip', 'route', 'add', 'default', 'via', `198.19.${subnetOctet(i)}.1`]);
    }
    const [client, server] = containers.map((c) => ({ ns: c.ns, addr4: nebulaContainerAddr(c.hostIndex) }));
    // The first packet starts the handshake; measure only once the tunnel carries a ping.
    await waitFor('a ping through nebula', async () => (await runPing({ ns: client.ns, target: server.addr4, count: 1 })).received === 1, 20_000);
    const pids = daemons.map((d) => findTunnelProcess(d.pid, isProgram('nebula'), 'nebula'));
    return { name: 'nebula', client, server, endpoints: [client, server], cpuSeconds: processesCpuSeconds(pids), destroy };
  } catch (error) {
    const logs = daemons.map((d, i) => `nebula on host ${i + 1}:\n${d.log(20)}`).join('\n');
    await destroy();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logs}`, { cause: error });
  }
}

/** What one node's config is made of. */
interface NodeConfig {
  ca: string;
  cert: string;
  key: string;
  /** Underlay address to listen on. */
  listen: string;
  port: number;
  mtu: number;
  /** Name of its tun device. */
  tun: string;
  /** The other node: its Nebula address, underlay address:port, and the container subnet behind it. */
  peer: { nebulaAddr: string; underlay: string; subnet: string };
}

/** A Nebula config (as an object; written as JSON, which is YAML) for one of the two nodes. */
export function nebulaConfig(node: NodeConfig): Record<string, unknown> {
  const any = [{ port: 'any', proto: 'any', host: 'any' }];
  return {
    pki: { ca: node.ca, cert: node.cert, key: node.key },
    static_host_map: { [node.peer.nebulaAddr]: [node.peer.underlay] },
    lighthouse: { am_lighthouse: false, hosts: [] },
    listen: { host: node.listen, port: node.port },
    punchy: { punch: false },
    cipher: 'aes',
    tun: {
      disabled: false,
      dev: node.tun,
      mtu: node.mtu,
      unsafe_routes: [{ route: node.peer.subnet, via: node.peer.nebulaAddr, mtu: node.mtu }],
    },
    logging: { level: 'info', format: 'text' },
    firewall: { outbound: any, inbound: any },
  };
}
