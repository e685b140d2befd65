/**
 * The plugin's commands against the real control API (src/agent/api.ts)
 * over a stub agent, without root: what ADD asks the agent for, which
 * endpoints DEL and GC pick (this node's, runtime cni, by container id and
 * interface) and which they must leave alone (manual, Docker's, other
 * nodes', valid attachments).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ControlApi } from '../../src/agent/api.js';
import type { AgentOperations, EndpointAttachRequest } from '../../src/agent/operations.js';
import type { EndpointRecord } from '../../src/cluster/records.js';
import { OverlayError } from '../../src/cluster/errors.js';
import { runPlugin } from '../../src/cni/plugin.js';

const NETWORK = { name: 'blue', id: 'n1', vni: 4096, subnets: ['198.19.1.0/24'], mtu: 1450, encrypted: false };

const ep = (id: string, node: string, runtime: EndpointRecord['runtime'], container?: string, ifname = 'eth0'): EndpointRecord => ({
  id,
  network: 'blue',
  ip: `198.19.1.${id.length + 10}`,
  ips: [`198.19.1.${id.length + 10}`],
  mac: '02:42:c6:13:01:0a',
  ifname,
  netns: '/proc/1/ns/net',
  node,
  vtep: '198.18.0.1',
  runtime,
  ...(container ? { container } : {}),
});

describe('CNI commands through the control API', () => {
  let dir: string;
  let api: ControlApi;
  let endpoints: EndpointRecord[] = [];
  const attached: EndpointAttachRequest[] = [];
  const detached: string[] = [];

  const stub = {
    log: { error: () => undefined },
    status: () => ({ name: 'node1' }),
    network: (name: string) => {
      if (name !== 'blue') throw new OverlayError('NETWORK_NOT_FOUND', `no network named ${name}`);
      return NETWORK;
    },
    endpoints: (network?: string) => {
      if (network !== undefined && network !== 'blue') throw new OverlayError('NETWORK_NOT_FOUND', `no network named ${network}`);
      return endpoints;
    },
    attachEndpoint: async (req: EndpointAttachRequest) => {
      attached.push(req);
      return { ...ep('new', 'node1', 'cni', req.container, req.ifname), ips: req.ips ?? ['198.19.1.2'], ip: (req.ips ?? ['198.19.1.2'])[0] };
    },
    detachEndpoint: async (id: string) => {
      detached.push(id);
      const found = endpoints.find((e) => e.id === id);
      if (!found) throw new OverlayError('ENDPOINT_NOT_FOUND', `no endpoint with id ${id}`);
      return found;
    },
  } as unknown as AgentOperations;

  const run = async (command: string, conf: Record<string, unknown>, env: Record<string, string> = {}) => {
    const out = await runPlugin(
      { CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', ...env },
      async () => JSON.stringify({ cniVersion: '1.1.0', name: 'blue', type: 'overlayd-cni', socket: join(dir, 'api.sock'), ...conf }),
    );
    return { exitCode: out.exitCode, doc: out.stdout ? JSON.parse(out.stdout) : undefined };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ovt-cni-api-'));
    api = new ControlApi(stub);
    await api.listen(join(dir, 'api.sock'));
  });
  afterAll(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    attached.length = 0;
    detached.length = 0;
    endpoints = [
      ep('a', 'node1', 'cni', 'c1'),
      ep('bb', 'node1', 'cni', 'c1', 'eth1'),
      ep('ccc', 'node2', 'cni', 'c1'),
      ep('dddd', 'node1', 'docker', 'c1'),
      ep('eeeee', 'node1', 'manual'),
      ep('ffffff', 'node1', 'cni', 'c2'),
    ];
  });

  it('ADD asks for the container\'s namespace, interface and id as runtime cni, with the fixed address', async () => {
    endpoints = [];
    const r = await run('ADD', { ip: '198.19.1.9' }, { CNI_IFNAME: 'net1' });
    expect(r.exitCode).toBe(0);
    expect(attached).toEqual([{ network: 'blue', netns: '/proc/self/ns/net', ifname: 'net1', runtime: 'cni', container: 'c1', ips: ['198.19.1.9'] }]);
    expect(r.doc.ips).toEqual([{ address: '198.19.1.9/24', interface: 0 }]);
  });

  it('ADD refuses an attachment this node holds already, and asks nothing', async () => {
    const r = await run('ADD', {});
    expect(r.doc).toMatchObject({ code: 100 });
    expect(attached).toEqual([]);
  });

  it('DEL removes only this node\'s cni endpoint of that container and interface; one the agent lost is fine', async () => {
    expect((await run('DEL', {}, { CNI_NETNS: '' })).exitCode).toBe(0);
    expect(detached).toEqual(['a']);
    endpoints = endpoints.filter((e) => e.id !== 'a');
    detached.length = 0;
    expect((await run('DEL', {})).exitCode).toBe(0);
    expect(detached).toEqual([]);
    expect((await run('DEL', { network: 'gone' })).exitCode).toBe(0);
  });

  it('GC removes this node\'s cni endpoints not listed, and nothing else', async () => {
    const r = await run('GC', { 'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: 'eth0' }] });
    expect(r.exitCode).toBe(0);
    expect(detached.sort()).toEqual(['bb', 'ffffff']);
  });

  it('STATUS is 50 for a network the agent lacks, success otherwise', async () => {
    expect((await run('STATUS', {})).exitCode).toBe(0);
    expect((await run('STATUS', { network: 'red' })).doc).toMatchObject({ code: 50, msg: 'overlayd has no network "red" yet: ADD would fail' });
  });
});
