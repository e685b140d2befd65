/**
 * The Docker plugin's protocol, call by call, against an agent made of a real
 * store without host plumbing (the e2e test, test/e2e/docker.test.ts, drives
 * it with the real dockerd).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OverlayStore, toEndpointRecord, toNetworkRecord } from '../../src/cluster/store.js';
import { OverlayError } from '../../src/cluster/errors.js';
import { DockerPlugin } from '../../src/agent/docker/plugin.js';
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
    releaseAddress: async (n: string, ip: string) => void store.reservations.release(n, ip),
    attachMovableEndpoint: async (r: MovableEndpointRequest) => {
      const ep = store.commitEndpoint(store.prepareEndpoint({ ...r, netns: '', reserved: true }));
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

describe('Docker plugin API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovt-docker-plugin-'));
  const store = new OverlayStore('host1', '198.18.0.1');
  let plugin: DockerPlugin;
  let sock = '';
  const c = (name: string, body?: unknown) => call(sock, name, body);

  beforeAll(async () => {
    plugin = new DockerPlugin(storeOps(store), join(dir, 'state'));
    sock = await plugin.listen(join(dir, 'plugins'));
  });
  afterAll(async () => {
    await plugin.close();
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
    expect((await c('IpamDriver.RequestPool', { AddressSpace: 'overlayd', Pool: '' })).body.Err).toMatch(/needs --subnet/);
    expect((await c('IpamDriver.RequestPool', { AddressSpace: 'overlayd', Pool: '2001:db8::/64', V6: true })).body.Err).toMatch(/IPv6/);
    expect((await c('IpamDriver.RequestPool', { Pool: SUBNET, SubPool: '198.19.70.0/25' })).body.Err).toMatch(/--ip-range/);
    expect((await c('IpamDriver.RequestPool', { AddressSpace: 'overlayd', Pool: '198.19.70.9/24' })).body).toEqual({ PoolID: pool, Pool: SUBNET, Data: {} });
    const gw = await c('IpamDriver.RequestAddress', { PoolID: pool, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    expect(gw.body).toEqual({ Address: '198.19.70.1/24', Data: {} });
  });

  it("refuses a network made with Docker's default IPAM, unknown options, and no network yet for an address", async () => {
    expect((await c('NetworkDriver.CreateNetwork', createNetwork('d0', {}, 'LocalDefault'))).body.Err).toMatch(/--ipam-driver overlayd/);
    expect((await c('NetworkDriver.CreateNetwork', createNetwork('d0', { encrypt: 'true' }))).body.Err).toMatch(/unknown option -o encrypt/);
    expect((await c('IpamDriver.RequestAddress', { PoolID: pool, Address: '' })).body.Err).toMatch(/no network with subnet 198\.19\.70\.0\/24/);
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
    plugin = new DockerPlugin(storeOps(store), join(dir, 'state'));
    sock = await plugin.listen(join(dir, 'plugins'));
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
});
