/**
 * The Docker plugin's protocol, call by call, forwarded over the real control
 * API to an agent made of a real store without host plumbing (the e2e test,
 * test/e2e/docker.test.ts, drives it with the real dockerd); and what it
 * answers while that agent is down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OverlayStore, toEndpointRecord, toNetworkRecord } from '../../src/cluster/store.js';
import { OverlayError } from '../../src/cluster/errors.js';
import { ControlApi } from '../../src/agent/api.js';
import { ApiError, ControlClient } from '../../src/api-client/client.js';
import { DockerPlugin } from '../../src/docker-plugin/plugin.js';
import type { EndpointRuntime } from '../../src/cluster/entries.js';
import type { AgentOperations, MovableEndpointRequest, NetworkCreateRequest } from '../../src/agent/operations.js';

/** The operations the plugin uses, on a bare store (no host, no gossip). */
function storeOps(store: OverlayStore): AgentOperations {
  const ops: Partial<AgentOperations> = {
    log: { error: () => undefined },
    createNetwork: async (r: NetworkCreateRequest) => toNetworkRecord(store.commitNetwork(store.prepareNetwork({ ...r, mtu: r.mtu ?? 1450 }))),
    removeNetwork: async (name: string, force: boolean) => {
      store.prepareNetworkRemoval(name, force);
      store.commitNetworkRemoval(name);
    },
    networks: () => store.networks().map(toNetworkRecord),
    network: (name: string) => toNetworkRecord(store.network(name)),
    endpoints: (n?: string) => store.endpoints(n).map(toEndpointRecord),
    reserveAddress: async (n: string, ip?: string, family?: 4 | 6, ttl?: number) => store.reserveAddress(n, ip, family, ttl),
    releaseAddress: async (n: string, ip: string) => {
      store.network(n); // NETWORK_NOT_FOUND, as the agent
      store.reservations.release(n, ip);
    },
    attachMovableEndpoint: async (r: MovableEndpointRequest) => {
      const ep = store.commitEndpoint(store.prepareEndpoint({ ...r, netns: '', reserved: true }));
      return { endpoint: toEndpointRecord(ep), ifname: `vd${ep.id.slice(0, 12)}`, mtu: 1450 };
    },
    movableEndpoint: (runtime: EndpointRuntime, container: string) => {
      const ep = store.localEndpoints().find((e) => e.runtime === runtime && e.container === container);
      if (!ep) throw new OverlayError('ENDPOINT_NOT_FOUND', `no endpoint for ${container}`);
      return { endpoint: toEndpointRecord(ep), ifname: `vd${ep.id.slice(0, 12)}`, mtu: 1450 };
    },
    detachEndpoint: async (id: string) => {
      const ep = store.endpoint(id);
      store.commitEndpointRemoval(id);
      return toEndpointRecord(ep);
    },
  };
  return ops as AgentOperations;
}

/** POSTs one plugin call; resolves with the HTTP status and the decoded body. */
function call(socket: string, name: string, body?: unknown): Promise<{ status: number; type: string; body: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, path: `/${name}`, method: 'POST', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: JSON.parse(Buffer.concat(chunks).toString()) }));
    });
    req.on('error', reject);
    req.end(body === undefined ? '' : JSON.stringify(body));
  });
}

const SUBNET = '198.19.70.0/24';
const pool = `overlayd/${SUBNET}`;
const createNetwork = (id: string, opts: Record<string, string> = {}, addressSpace = 'overlayd', subnet = SUBNET) => ({
  NetworkID: id,
  Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': opts },
  IPv4Data: [{ AddressSpace: addressSpace, Pool: subnet, Gateway: '198.19.70.1/24' }],
  IPv6Data: [],
});

describe('Docker plugin API, through the control API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovt-docker-plugin-'));
  const store = new OverlayStore('host1', '198.18.0.1');
  const agentSocket = join(dir, 'agent.sock');
  let api: ControlApi;
  let plugin: DockerPlugin;
  let sock = '';
  const c = (name: string, body?: unknown) => call(sock, name, body);
  const startPlugin = async (): Promise<void> => {
    const log = { error: () => undefined, warn: () => undefined, info: () => undefined };
    plugin = new DockerPlugin({ agentSocket, stateDir: join(dir, 'state'), log, retryFirstMs: 50, retryMaxMs: 200 });
    sock = await plugin.listen(join(dir, 'plugins'));
  };

  beforeAll(async () => {
    api = new ControlApi(storeOps(store));
    await api.listen(agentSocket);
    await startPlugin();
  });
  afterAll(async () => {
    await plugin.close();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('activates as a network and an IPAM driver; unknown calls get 404', async () => {
    const a = await c('Plugin.Activate');
    expect(a).toMatchObject({ status: 200, type: 'application/vnd.docker.plugins.v1.2+json', body: { Implements: ['NetworkDriver', 'IpamDriver'] } });
    expect((await c('NetworkDriver.GetCapabilities')).body).toMatchObject({ Scope: 'local' });
    expect((await c('IpamDriver.GetDefaultAddressSpaces')).body).toEqual({ LocalDefaultAddressSpace: 'overlayd', GlobalDefaultAddressSpace: 'overlayd' });
    const unknown = await c('NetworkDriver.Teleport', {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.Err).toMatch(/404 page not found/);
  });

  it('refuses pools without --subnet, IPv6 pools and ip ranges; the gateway is the first address', async () => {
    expect((await c('IpamDriver.RequestPool', { AddressSpace: 'overlayd', Pool: '' })).body.Error).toMatch(/needs --subnet/);
    expect((await c('IpamDriver.RequestPool', { AddressSpace: 'overlayd', Pool: '2001:db8::/64', V6: true })).body.Error).toMatch(/IPv6/);
    expect((await c('IpamDriver.RequestPool', { Pool: SUBNET, SubPool: '198.19.70.0/25' })).body.Error).toMatch(/--ip-range/);
    expect((await c('IpamDriver.RequestPool', { AddressSpace: 'overlayd', Pool: '198.19.70.9/24' })).body).toEqual({ PoolID: pool, Pool: SUBNET, Data: {} });
    const gw = await c('IpamDriver.RequestAddress', { PoolID: pool, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    expect(gw.body).toEqual({ Address: '198.19.70.1/24', Data: {} });
  });

  it("refuses a network made with Docker's default IPAM, unknown options, and no network yet for an address", async () => {
    expect((await c('NetworkDriver.CreateNetwork', createNetwork('d0', {}, 'LocalDefault'))).body.Err).toMatch(/--ipam-driver overlayd/);
    expect((await c('NetworkDriver.CreateNetwork', createNetwork('d0', { encrypt: 'true' }))).body.Err).toMatch(/unknown option -o encrypt/);
    expect((await c('IpamDriver.RequestAddress', { PoolID: pool, Address: '' })).body.Error).toMatch(/no network with subnet 198\.19\.70\.0\/24/);
    expect(store.networks()).toEqual([]);
  });

  it('creates the overlay for a subnet once; a second Docker network with the subnet joins it; mismatches are refused', async () => {
    expect((await c('NetworkDriver.CreateNetwork', createNetwork('d1'))).body).toEqual({});
    expect(store.networks().map((n) => [n.name, n.subnets])).toEqual([['docker-198.19.70.0-24', [SUBNET]]]);
    expect((await c('NetworkDriver.CreateNetwork', createNetwork('d2'))).body).toEqual({});
    expect(store.networks()).toHaveLength(1);
    expect((await c('NetworkDriver.CreateNetwork', createNetwork('d3', { encrypted: 'true' }))).body.Err).toMatch(/exists cluster-wide unencrypted/);
    store.commitNetwork(store.prepareNetwork({ name: 'blue', subnets: ['198.19.71.0/24'], mtu: 1450 }));
    expect((await c('NetworkDriver.CreateNetwork', createNetwork('d4', { name: 'blue' }))).body.Err).toBe(
      'overlayd network blue exists cluster-wide with subnet 198.19.71.0/24, not 198.19.70.0/24',
    );
    expect((await c('NetworkDriver.CreateNetwork', createNetwork('d5', { name: 'blue' }, 'overlayd', '198.19.71.0/24'))).body).toEqual({});
  });

  it('creates a multicast overlay with -o multicast=true and -o multicast-rate=N; refuses bad rates and a mismatch', async () => {
    const create79 = (id: string, opts: Record<string, string>) => c('NetworkDriver.CreateNetwork', createNetwork(id, opts, 'overlayd', '198.19.79.0/24'));
    expect((await create79('m0', { 'multicast-rate': '10' })).body.Err).toBe('overlayd: -o multicast-rate applies with -o multicast=true only');
    expect((await create79('m0', { multicast: 'true', 'multicast-rate': 'fast' })).body.Err).toBe('overlayd: -o multicast-rate=fast is not a rate in frames/s (0: no limit)');
    expect((await create79('m0', { multicast: 'yes' })).body.Err).toBe('overlayd: -o multicast=yes must be true or false');
    expect((await create79('m1', { multicast: 'true', 'multicast-rate': '500' })).body).toEqual({});
    expect(store.networks().find((n) => n.subnets[0] === '198.19.79.0/24')?.multicast).toEqual({ rate: 500 });
    expect((await create79('m2', {})).body.Err).toMatch(/exists cluster-wide with multicast: add -o multicast=true/);
    expect((await create79('m3', { multicast: '' })).body).toEqual({});
  });

  it('hands out distinct addresses, never the gateway, and makes endpoints Docker moves itself', async () => {
    const asked = await Promise.all([1, 2, 3].map(() => c('IpamDriver.RequestAddress', { PoolID: pool, Address: '' })));
    const addrs = asked.map((r) => r.body.Address as string);
    expect(new Set(addrs).size).toBe(3);
    expect(addrs).not.toContain('198.19.70.1/24');
    const created = await c('NetworkDriver.CreateEndpoint', { NetworkID: 'd1', EndpointID: 'e1'.repeat(32), Interface: { Address: addrs[0], MacAddress: '' } });
    const ip = addrs[0].split('/')[0];
    const mac = `02:42:${ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0')).join(':')}`;
    expect(created.body).toEqual({ Interface: { MacAddress: mac } });
    const ep = store.endpoints().find((e) => e.container === 'e1'.repeat(32))!;
    expect(ep).toMatchObject({ runtime: 'docker', ips: [ip], network: 'docker-198.19.70.0-24' });
    const join1 = await c('NetworkDriver.Join', { NetworkID: 'd1', EndpointID: 'e1'.repeat(32), SandboxKey: '/var/run/docker/netns/x' });
    expect(join1.body).toEqual({ InterfaceName: { SrcName: `vd${ep.id.slice(0, 12)}`, DstPrefix: 'eth' }, DisableGatewayService: true });
    expect((await c('NetworkDriver.EndpointOperInfo', { NetworkID: 'd1', EndpointID: 'e1'.repeat(32) })).body.Value).toMatchObject({ 'overlayd.ip': ip });
    expect((await c('NetworkDriver.CreateEndpoint', { NetworkID: 'd1', EndpointID: 'e2', Interface: { Address: addrs[1], MacAddress: '02:00:00:00:00:01' } })).body.Err).toMatch(/--mac-address/);
    expect((await c('NetworkDriver.CreateEndpoint', { NetworkID: 'nope', EndpointID: 'e2', Interface: { Address: addrs[1] } })).body.Err).toMatch(/knows no Docker network nope/);
    for (const a of addrs.slice(1)) expect((await c('IpamDriver.ReleaseAddress', { PoolID: pool, Address: a })).body).toEqual({});
    expect(store.usedAddresses('docker-198.19.70.0-24')).toEqual(new Set(['198.19.70.1', ip]));
  });

  it('keeps the Docker network mapping across a restart; removes the endpoint, then the overlay with the last Docker network', async () => {
    await plugin.close();
    await startPlugin();
    for (const call of ['NetworkDriver.Leave', 'NetworkDriver.RevokeExternalConnectivity', 'NetworkDriver.DeleteEndpoint']) {
      expect((await c(call, { NetworkID: 'd1', EndpointID: 'e1'.repeat(32) })).body).toEqual({});
    }
    expect(store.endpoints()).toEqual([]);
    expect((await c('NetworkDriver.DeleteEndpoint', { NetworkID: 'd1', EndpointID: 'e1'.repeat(32) })).body).toEqual({}); // again: idempotent
    expect((await c('NetworkDriver.DeleteNetwork', { NetworkID: 'd1' })).body).toEqual({});
    expect(store.findNetwork('docker-198.19.70.0-24')).toBeDefined(); // d2 still maps to it
    expect((await c('NetworkDriver.DeleteNetwork', { NetworkID: 'd2' })).body).toEqual({});
    expect(store.findNetwork('docker-198.19.70.0-24')).toBeUndefined();
  });

  it('with the agent down: each call that needs it answers at once with one line naming its socket; removals answer success and are kept; Activate and the capabilities still answer; once it is back, all as before', async () => {
    expect((await c('NetworkDriver.CreateNetwork', createNetwork('d6'))).body).toEqual({});
    const ep = { NetworkID: 'd6', EndpointID: 'e3'.repeat(32) };
    const held = (await c('IpamDriver.RequestAddress', { PoolID: pool, Address: '' })).body.Address as string;
    expect((await c('NetworkDriver.CreateEndpoint', { ...ep, Interface: { Address: held } })).body.Interface).toBeDefined();
    await api.close();
    const down = `overlayd agent is not running (no answer on ${agentSocket}); start overlayd and retry`;
    const started = Date.now();
    expect((await c('Plugin.Activate')).body).toEqual({ Implements: ['NetworkDriver', 'IpamDriver'] });
    expect((await c('NetworkDriver.GetCapabilities')).body).toMatchObject({ Scope: 'local' });
    expect((await c('IpamDriver.GetCapabilities')).body).toMatchObject({ RequiresMACAddress: false });
    expect((await c('IpamDriver.RequestPool', { AddressSpace: 'overlayd', Pool: SUBNET })).body).toMatchObject({ PoolID: pool });
    const ep4 = { NetworkID: 'd6', EndpointID: 'e4'.repeat(32) };
    const creations: [string, unknown][] = [
      ['IpamDriver.RequestAddress', { PoolID: pool, Address: '' }],
      ['NetworkDriver.CreateNetwork', createNetwork('d7')],
      ['NetworkDriver.CreateEndpoint', { ...ep4, Interface: { Address: '198.19.70.9/24' } }],
      ['NetworkDriver.Join', { ...ep4, SandboxKey: '/var/run/docker/netns/x' }],
    ];
    // In the field each interface reads: IpamDriver's is Error, NetworkDriver's Err.
    for (const [name, body] of creations) expect((await c(name, body)).body, name).toEqual(name.startsWith('Ipam') ? { Error: down } : { Err: down });
    // docker rm -f: dockerd only logs a removal's error and forgets the endpoint anyway, so the plugin keeps it (twice is once).
    for (const [name, body] of [['NetworkDriver.DeleteEndpoint', ep], ['IpamDriver.ReleaseAddress', { PoolID: pool, Address: held }], ['NetworkDriver.DeleteEndpoint', ep]] as const) {
      expect((await c(name, body)).body, name).toEqual({});
    }
    expect(Date.now() - started).toBeLessThan(1000);
    const ip = held.split('/')[0];
    expect(plugin.cleanups.pending).toEqual([{ kind: 'endpoint', container: ep.EndpointID }, { kind: 'address', subnet: SUBNET, ip }]);
    expect(store.endpoints().map((e) => e.container)).toEqual([ep.EndpointID]);

    // Back, as after a restart: the agent holds nothing; the next call delivers the kept removals first, so the
    // removed container's address is free again and can be handed out (here: pinned) to a new container.
    store.reservations.release('docker-198.19.70.0-24', '198.19.70.1');
    await api.listen(agentSocket);
    expect((await c('IpamDriver.RequestAddress', { PoolID: pool, Address: ip })).body).toEqual({ Address: held, Data: {} });
    expect(plugin.cleanups.pending).toEqual([]);
    expect(store.endpoints()).toEqual([]);
    expect(store.reservations.holds('docker-198.19.70.0-24', ip)).toBe(true); // the replayed release came before, not after
    expect(store.reservations.holds('docker-198.19.70.0-24', '198.19.70.1')).toBe(true);
    expect((await c('IpamDriver.ReleaseAddress', { PoolID: pool, Address: held })).body).toEqual({});
    expect(store.reservations.holds('docker-198.19.70.0-24', ip)).toBe(false);
  });

  it('a release that comes after its address was handed out again does not take the new holder\'s; a failed creation\'s release does', async () => {
    const net = 'docker-198.19.70.0-24';
    const old = { NetworkID: 'd6', EndpointID: 'e5'.repeat(32) };
    const x = (await c('IpamDriver.RequestAddress', { PoolID: pool, Address: '' })).body.Address as string;
    await c('NetworkDriver.CreateEndpoint', { ...old, Interface: { Address: x } });
    expect((await c('NetworkDriver.DeleteEndpoint', old)).body).toEqual({}); // x is free in the agent from here
    expect((await c('IpamDriver.RequestAddress', { PoolID: pool, Address: x.split('/')[0] })).body.Address).toBe(x); // a new container gets it
    expect((await c('IpamDriver.ReleaseAddress', { PoolID: pool, Address: x })).body).toEqual({}); // the old one's late release
    expect(store.reservations.holds(net, x.split('/')[0])).toBe(true);
    const neu = { NetworkID: 'd6', EndpointID: 'e6'.repeat(32) };
    expect((await c('NetworkDriver.CreateEndpoint', { ...neu, Interface: { Address: x } })).body.Interface).toBeDefined();
    // A creation that failed after RequestAddress: its release is its own and lets the address go.
    const y = (await c('IpamDriver.RequestAddress', { PoolID: pool, Address: '' })).body.Address as string;
    expect((await c('IpamDriver.ReleaseAddress', { PoolID: pool, Address: y })).body).toEqual({});
    expect(store.reservations.holds(net, y.split('/')[0])).toBe(false);
    expect((await c('NetworkDriver.DeleteEndpoint', neu)).body).toEqual({});
  });

  it('kept removals survive a plugin restart and are delivered by the retry timer once the agent is back; docker network rm too', async () => {
    await api.close();
    const ep = { NetworkID: 'd6', EndpointID: 'e7'.repeat(32) };
    await api.listen(agentSocket);
    const x = (await c('IpamDriver.RequestAddress', { PoolID: pool, Address: '' })).body.Address as string;
    await c('NetworkDriver.CreateEndpoint', { ...ep, Interface: { Address: x } });
    await api.close();
    expect((await c('NetworkDriver.DeleteEndpoint', ep)).body).toEqual({});
    expect((await c('NetworkDriver.DeleteNetwork', { NetworkID: 'd6' })).body).toEqual({}); // dockerd forgets it whatever we say
    await plugin.close();
    await startPlugin();
    expect(plugin.cleanups.pending).toEqual([{ kind: 'endpoint', container: ep.EndpointID }, { kind: 'network', network: 'docker-198.19.70.0-24' }]);
    await api.listen(agentSocket); // no call from dockerd: the timer delivers them
    const until = Date.now() + 3000;
    while (store.findNetwork('docker-198.19.70.0-24') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(store.endpoints()).toEqual([]);
    expect(store.findNetwork('docker-198.19.70.0-24')).toBeUndefined();
    expect(plugin.cleanups.pending).toEqual([]);
    expect((await c('NetworkDriver.DeleteNetwork', { NetworkID: 'd6' })).body).toEqual({}); // unknown by now: nothing to do
  });

  it('the control-API routes it uses refuse bad input with a code, as the others do', async () => {
    store.commitNetwork(store.prepareNetwork({ name: 'green', subnets: ['198.19.72.0/24'], mtu: 1450 }));
    const client = new ControlClient(agentSocket);
    const refused = (p: Promise<unknown>) => p.then(() => 'accepted', (e: ApiError) => `${e.status} ${e.code}`);
    const reserve = (body: unknown) => client.post('/v1/networks/green/reservations', body);
    expect(await refused(reserve({ family: 5 }))).toBe('400 BAD_REQUEST');
    expect(await refused(reserve({ ttlS: 0 }))).toBe('400 BAD_REQUEST');
    expect(await refused(reserve({ forever: 'yes' }))).toBe('400 BAD_REQUEST');
    expect(await refused(reserve({ ttlS: 10, forever: true }))).toBe('400 BAD_REQUEST');
    expect(await refused(reserve({ ip: 'nope' }))).toBe('400 BAD_REQUEST');
    expect(await refused(reserve({ ip: '198.19.73.5' }))).toBe('400 IP_OUTSIDE_SUBNET');
    expect(await refused(client.post('/v1/networks/red/reservations', {}))).toBe('404 NETWORK_NOT_FOUND');
    expect(await refused(client.delete('/v1/networks/red/reservations/198.19.72.5'))).toBe('404 NETWORK_NOT_FOUND');
    expect(await client.post('/v1/networks/green/reservations', { ip: '198.19.72.5', ttlS: 60 })).toEqual({ network: 'green', ip: '198.19.72.5' });
    expect(await refused(reserve({ ip: '198.19.72.5' }))).toBe('409 IP_IN_USE');
    expect(await client.delete('/v1/networks/green/reservations/198.19.72.5')).toEqual({ released: '198.19.72.5' });
    const movable = (body: Record<string, unknown>) => client.post('/v1/endpoints/movable', { network: 'green', ips: ['198.19.72.6'], runtime: 'docker', container: 'x', ...body });
    expect(await refused(movable({ runtime: 'podman' }))).toBe('400 BAD_REQUEST');
    expect(await refused(movable({ container: '' }))).toBe('400 BAD_REQUEST');
    expect(await refused(movable({ ips: '198.19.72.6' }))).toBe('400 BAD_REQUEST');
    expect(await refused(client.get('/v1/endpoints/movable?runtime=docker'))).toBe('400 BAD_REQUEST');
    expect(await refused(client.get('/v1/endpoints/movable?runtime=docker&container=x'))).toBe('404 ENDPOINT_NOT_FOUND');
    expect(store.endpoints('green')).toEqual([]);
  });
});
