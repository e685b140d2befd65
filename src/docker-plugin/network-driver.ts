/**
 * Docker's NetworkDriver (moby libnetwork docs/remote.md) on overlayd:
 *
 *   GetCapabilities   Scope "local": each dockerd keeps its own record of the
 *                     network; overlayd makes them one overlay (a "global"
 *                     driver needs a KV store in 20.10's legacy mode)
 *   CreateNetwork     the overlay with the network's subnet, created or joined
 *   DeleteNetwork     forgets the mapping; removes the overlay once no endpoint is
 *                     left anywhere (kept and replayed when the agent is down)
 *   CreateEndpoint    an endpoint on the address Docker's IPAM call held; a veth
 *                     pair with the MAC (02:42 + IPv4) and MTU set
 *   Join              SrcName = that veth, DstPrefix "eth": Docker moves it
 *   DeleteEndpoint    removes the endpoint (on every host, by gossip); kept and
 *                     replayed when the agent is down (cleanups.ts)
 *   Leave, ProgramExternalConnectivity, RevokeExternalConnectivity,
 *   DiscoverNew, DiscoverDelete, AllocateNetwork, FreeNetwork: nothing to do
 *
 * Which overlayd network a Docker network is: the one with its subnet, or a
 * new one named by `-o name=NAME`, else `docker-<subnet>` (dockerd 20.10 never
 * tells a driver the network's name) — see networks.ts and docs/docker.md.
 * Every change is the agent's, asked through its control API (agent.ts).
 */
import { parseCidr } from '../wire/index.js';
import type { AgentConnection } from './agent.js';
import type { PendingCleanups } from './cleanups.js';
import { ADDRESS_SPACE } from './ipam-driver.js';
import { PluginError, type PluginCall } from './server.js';
import type { DockerNetwork, DockerNetworks } from './networks.js';
import { networkRequest } from './network-options.js';

export class NetworkDriver {
  constructor(
    private readonly agent: AgentConnection,
    private readonly nets: DockerNetworks,
    private readonly cleanups: PendingCleanups,
  ) {}

  /** The NetworkDriver calls, by name. */
  calls(): [string, PluginCall][] {
    const none = (): Record<string, unknown> => ({});
    return [
      ['NetworkDriver.GetCapabilities', () => ({ Scope: 'local', ConnectivityScope: 'global' })],
      ['NetworkDriver.CreateNetwork', (b) => this.createNetwork(b)],
      ['NetworkDriver.DeleteNetwork', (b) => this.deleteNetwork(b)],
      ['NetworkDriver.CreateEndpoint', (b) => this.createEndpoint(b)],
      ['NetworkDriver.EndpointOperInfo', (b) => this.endpointInfo(b)],
      ['NetworkDriver.DeleteEndpoint', (b) => this.deleteEndpoint(b)],
      ['NetworkDriver.Join', (b) => this.join(b)],
      ['NetworkDriver.Leave', none],
      ['NetworkDriver.ProgramExternalConnectivity', none],
      ['NetworkDriver.RevokeExternalConnectivity', none],
      ['NetworkDriver.DiscoverNew', none],
      ['NetworkDriver.DiscoverDelete', none],
      ['NetworkDriver.AllocateNetwork', () => ({ Options: {} })],
      ['NetworkDriver.FreeNetwork', none],
    ];
  }

  /** At start: holds the nominal gateway address of every mapped network again. */
  async restore(): Promise<void> {
    for (const [, n] of this.nets.all()) await this.agent.holdGateway(n.network, n.subnet);
  }

  private async createNetwork(b: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = str(b, 'NetworkID');
    const ipv4 = (Array.isArray(b.IPv4Data) ? b.IPv4Data : []) as Record<string, unknown>[];
    if (Array.isArray(b.IPv6Data) && b.IPv6Data.length > 0) throw new PluginError('UNSUPPORTED', 'overlayd: IPv6 is not supported for Docker networks; create the network without --ipv6');
    if (ipv4.length !== 1) throw new PluginError('BAD_REQUEST', `overlayd: a Docker network needs exactly one IPv4 --subnet, got ${ipv4.length}`);
    if (ipv4[0].AddressSpace !== ADDRESS_SPACE) {
      throw new PluginError('BAD_REQUEST', "overlayd allocates addresses cluster-wide: create the network with --ipam-driver overlayd (Docker's default IPAM would hand out the same addresses on every host)");
    }
    const req = networkRequest(b.Options, String(ipv4[0].Pool));
    const cidr = parseCidr(req.subnet);
    const all = await this.agent.networks();
    const net = all.find((n) => n.subnets.length === 1 && n.subnets[0] === cidr.text);
    const named = req.name === undefined ? undefined : all.find((n) => n.name === req.name);
    if (named && named.subnets.join(',') !== cidr.text) {
      throw new PluginError('BAD_REQUEST', `overlayd network ${req.name} exists cluster-wide with subnet ${named.subnets.join(', ')}, not ${cidr.text}`);
    }
    let mapped: DockerNetwork;
    if (net) {
      if (req.name !== undefined && req.name !== net.name) throw new PluginError('BAD_REQUEST', `subnet ${cidr.text} belongs to overlayd network ${net.name}, not ${req.name}`);
      if (net.encrypted !== req.encrypted) {
        throw new PluginError('BAD_REQUEST', `overlayd network ${net.name} (${cidr.text}) exists cluster-wide ${net.encrypted ? 'encrypted' : 'unencrypted'}: ${net.encrypted ? 'add' : 'drop'} -o encrypted=true`);
      }
      if ((net.multicast === true) !== req.multicast) {
        throw new PluginError('BAD_REQUEST', `overlayd network ${net.name} (${cidr.text}) exists cluster-wide ${net.multicast ? 'with' : 'without'} multicast: ${net.multicast ? 'add' : 'drop'} -o multicast=true`);
      }
      if (req.vni !== undefined && req.vni !== net.vni) throw new PluginError('BAD_REQUEST', `overlayd network ${net.name} exists cluster-wide with VNI ${net.vni}, not ${req.vni}`);
      mapped = { network: net.name, subnet: cidr.text, encrypted: net.encrypted, vni: req.vni };
    } else {
      const multicast = req.multicast ? { multicast: true, ...(req.multicastRate !== undefined && { multicastRate: req.multicastRate }) } : {};
      mapped = { network: req.name ?? `docker-${cidr.text.replace('/', '-')}`, subnet: cidr.text, encrypted: req.encrypted, vni: req.vni, ...multicast };
      await this.createOverlay(mapped);
    }
    this.nets.set(id, mapped);
    await this.agent.holdGateway(mapped.network, mapped.subnet);
    return {};
  }

  private async deleteNetwork(b: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = str(b, 'NetworkID');
    // dockerd forgets the network whatever we answer (cleanups.ts), so the mapping goes now; the overlay when the agent can.
    const n = this.nets.delete(id);
    if (n) await this.cleanups.remove({ kind: 'network', network: n.network });
    return {};
  }

  private async createEndpoint(b: Record<string, unknown>): Promise<Record<string, unknown>> {
    const n = this.mapped(str(b, 'NetworkID'));
    const iface = (b.Interface ?? {}) as Record<string, unknown>;
    if (typeof iface.Address !== 'string' || iface.Address === '') {
      throw new PluginError('BAD_REQUEST', 'overlayd: the endpoint has no IPv4 address; the network must use --ipam-driver overlayd');
    }
    if (typeof iface.AddressIPv6 === 'string' && iface.AddressIPv6 !== '') throw new PluginError('UNSUPPORTED', 'overlayd: IPv6 addresses are not supported for Docker endpoints');
    if (typeof iface.MacAddress === 'string' && iface.MacAddress !== '') {
      throw new PluginError('UNSUPPORTED', 'overlayd sets the MAC from the address (02:42 + IPv4): --mac-address is not supported');
    }
    if (!(await this.agent.networks()).some((x) => x.name === n.network)) await this.createOverlay(n); // removed meanwhile by the last host leaving it
    const made = await this.agent.attachMovable(n.network, [iface.Address.split('/')[0]], str(b, 'EndpointID'));
    return { Interface: { MacAddress: made.endpoint.mac } };
  }

  private async join(b: Record<string, unknown>): Promise<Record<string, unknown>> {
    const m = await this.agent.movable(str(b, 'EndpointID'));
    if (!m) throw new PluginError('NOT_FOUND', `overlayd has no endpoint for Docker endpoint ${str(b, 'EndpointID').slice(0, 12)}`);
    // No Gateway: the overlay has no way out (docs/docker.md); and no docker_gwbridge either.
    return { InterfaceName: { SrcName: m.ifname, DstPrefix: 'eth' }, DisableGatewayService: true };
  }

  private async endpointInfo(b: Record<string, unknown>): Promise<Record<string, unknown>> {
    const ep = (await this.agent.movable(str(b, 'EndpointID')))?.endpoint;
    if (!ep) return { Value: {} };
    return { Value: { 'overlayd.endpoint': ep.id, 'overlayd.network': ep.network, 'overlayd.ip': ep.ip, 'overlayd.mac': ep.mac } };
  }

  private async deleteEndpoint(b: Record<string, unknown>): Promise<Record<string, unknown>> {
    await this.cleanups.remove({ kind: 'endpoint', container: str(b, 'EndpointID') });
    return {};
  }

  private mapped(dockerId: string): DockerNetwork {
    const n = this.nets.get(dockerId);
    if (!n) throw new PluginError('UNKNOWN_NETWORK', `overlayd knows no Docker network ${dockerId.slice(0, 12)}: it was not created with -d overlayd on this host`);
    return n;
  }

  private async createOverlay(n: DockerNetwork): Promise<void> {
    await this.agent.createNetwork({ name: n.network, subnet: n.subnet, encrypted: n.encrypted, vni: n.vni, multicast: n.multicast, multicastRate: n.multicastRate });
  }
}

function str(b: Record<string, unknown>, key: string): string {
  const v = b[key];
  if (typeof v !== 'string' || v === '') throw new PluginError('BAD_REQUEST', `overlayd: "${key}" missing from the request`);
  return v;
}
