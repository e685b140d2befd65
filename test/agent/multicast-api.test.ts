/**
 * The multicast fields of the control API (api.ts) over a real store and the
 * agent's views, without host plumbing: creating a network with
 * `multicast`/`multicastRate`, static peers' `groups`, GET /v1/groups — and
 * bad input refused with a code and one clear message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OverlayStore, toNetworkRecord, type PeerRecord } from '../../src/cluster/store.js';
import { ControlApi } from '../../src/agent/api.js';
import { AgentViews, type ViewSources } from '../../src/agent/views.js';
import { ApiError, ControlClient } from '../../src/api-client/client.js';
import type { AgentContext } from '../../src/agent/context.js';
import type { AgentOperations, GroupRow, NetworkCreateRequest } from '../../src/agent/operations.js';

function ops(store: OverlayStore): AgentOperations {
  const ctx = { store, up: new Map(), datapath: { groups: () => new Map() }, config: { name: 'a' } } as unknown as AgentContext;
  const views = new AgentViews(ctx, {} as ViewSources);
  const o: Partial<AgentOperations> = {
    log: { error: () => undefined },
    createNetwork: async (r: NetworkCreateRequest) => toNetworkRecord(store.commitNetwork(store.prepareNetwork({ ...r, mtu: r.mtu ?? 1450 }))),
    addPeer: async (r: PeerRecord) => {
      const p = store.preparePeer(r);
      store.commitPeer(p);
      return p;
    },
    groupRows: (n?: string) => views.groupRows(n),
  };
  return o as AgentOperations;
}

describe('multicast in the control API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovt-mcapi-'));
  const store = new OverlayStore('a', '198.18.0.1');
  const socket = join(dir, 'agent.sock');
  const api = new ControlApi(ops(store));
  const client = new ControlClient(socket);
  const refused = (p: Promise<unknown>) => p.then(() => 'accepted', (e: ApiError) => `${e.status} ${e.code} ${e.message}`);
  const create = (body: Record<string, unknown>) => client.post('/v1/networks', { name: 'x', subnets: ['198.19.50.0/24'], ...body });

  beforeAll(() => api.listen(socket));
  afterAll(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses bad multicast fields with a code and one clear message', async () => {
    expect(await refused(create({ multicast: 'yes' }))).toBe('400 BAD_REQUEST "multicast" must be true or false');
    expect(await refused(create({ multicast: true, multicastRate: 'fast' }))).toBe('400 BAD_REQUEST "multicastRate" must be an integer');
    expect(await refused(create({ multicastRate: 5 }))).toBe('400 BAD_REQUEST a multicast rate applies to --multicast networks only');
    expect(await refused(create({ multicast: true, multicastRate: -5 }))).toMatch(/^400 BAD_REQUEST invalid multicast rate -5: must be 0 \(no limit\)/);
    expect(store.networks()).toEqual([]);
  });

  it('creates multicast networks, takes static peers with groups, and lists the groups', async () => {
    expect(await create({ name: 'mc', multicast: true, multicastRate: 0 })).toMatchObject({ name: 'mc', multicast: true, multicastRate: 0 });
    expect(await create({ name: 'plain', subnets: ['198.19.51.0/24'] })).toMatchObject({ multicast: false });
    const peer = (network: string, body: Record<string, unknown>) => client.post(`/v1/networks/${network}/peers`, { ip: '198.19.50.9', mac: '02:00:00:00:00:09', vtep: '198.18.0.9', ...body });
    expect(await refused(peer('mc', { groups: '239.1.1.1' }))).toBe('400 BAD_REQUEST "groups" must be a list of strings');
    expect(await refused(peer('mc', { groups: ['ff02::1:ff00:9'] }))).toMatch(/^400 BAD_REQUEST --group ff02::1:ff00:9 is a link-local group/);
    expect(await peer('mc', { groups: ['239.1.1.1'] })).toMatchObject({ groups: ['239.1.1.1'] });
    const rows = await client.get<GroupRow[]>('/v1/groups');
    expect(rows).toEqual([{ network: 'mc', vni: 4096, group: '239.1.1.1', mac: '01:00:5e:01:01:01', members: [{ node: null, endpoint: null, vtep: '198.18.0.9', ip: '198.19.50.9' }], vteps: [] }]);
    expect(await refused(client.get('/v1/groups?network=plain'))).toBe('400 BAD_REQUEST network plain was not created with --multicast: it has no groups');
    expect(await refused(client.get('/v1/groups?network=nope'))).toBe('404 NETWORK_NOT_FOUND no network named nope');
  });
});
