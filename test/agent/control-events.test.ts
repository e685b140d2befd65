/**
 * Control events (src/agent/control-events.ts) from snapshots of a stand-in
 * store and member list: nothing for the first snapshot, then networks,
 * endpoints (a MAC at another node is a move), key rings, member states and
 * other hosts' multicast groups as they change.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlEvents } from '../../src/agent/control-events.js';
import { EventLog } from '../../src/agent/events.js';
import type { AgentContext } from '../../src/agent/context.js';
import type { MemberRow } from '../../src/agent/operations.js';
import type { EndpointEntry, GroupEntry, NetworkEntry } from '../../src/cluster/entries.js';

class FakeStore extends EventEmitter {
  nets: Partial<NetworkEntry>[] = [];
  eps: Partial<EndpointEntry>[] = [];
  grps: Partial<GroupEntry>[] = [];
  networks = (): Partial<NetworkEntry>[] => this.nets;
  endpoints = (): Partial<EndpointEntry>[] => this.eps;
  groups = (): Partial<GroupEntry>[] => this.grps;
}

const endpoint = (owner: string, vtep: string): Partial<EndpointEntry> => ({ id: `id-${owner}`, network: 'blue', ips: ['198.19.1.8'], mac: '02:42:c6:13:01:08', owner, vtep });
const ring = (tags: number[], sendTag: number) => ({ carrier: 'ip' as const, keySize: 16 as const, esn: true, keys: tags.map((tag) => ({ tag, material: '', created: 0 })), sendTag });

describe('ControlEvents', () => {
  const store = new FakeStore();
  const log = new EventLog();
  let members: MemberRow[] = [{ name: 'node1', addr: '198.18.0.1', port: 7946, state: 'alive', incarnation: 1 }];
  const events = new ControlEvents({ store, events: log, config: { name: 'node1' } } as unknown as AgentContext, () => members);
  afterEach(() => events.stop());

  it('reports nothing at first, then what changed, each with a summary', () => {
    store.nets = [{ name: 'blue', vni: 4100, subnets: ['198.19.1.0/24'], encrypted: true, encryption: ring([1, 2], 1) }];
    store.eps = [endpoint('node2', '198.18.0.2')];
    events.start();
    expect(log.recent()).toEqual([]);

    store.eps = [endpoint('node3', '198.18.0.3')];
    store.nets = [{ ...store.nets[0], encryption: ring([1, 2, 3], 2) }];
    members = [{ ...members[0], state: 'suspect' }];
    store.emit('change');
    const got = log.recent().map((e) => [e.type, e.action ?? e.state, e.summary]);
    expect(got).toEqual([
      ['member', 'suspect', 'member node1 198.18.0.1 is suspect (was alive)'],
      ['key', 'added', 'key 00000003 of blue added (receive, next to send)'],
      ['key', 'rotated', 'key 00000002 of blue now sends (rotated from 00000001)'],
      ['endpoint', 'moved', 'endpoint 198.19.1.8 (02:42:c6:13:01:08) of blue moved from node2 to node3 (198.18.0.3)'],
    ]);
    expect(log.recent({ type: 'endpoint' })[0]).toMatchObject({ network: 'blue', vni: 4100, node: 'node3', from: 'node2', vtep: '198.18.0.3' });

    store.nets = [];
    store.eps = [];
    store.emit('change');
    expect(log.recent().slice(-2).map((e) => e.summary)).toEqual([
      'network blue removed',
      'endpoint 198.19.1.8 (02:42:c6:13:01:08) of blue removed on node3 (198.18.0.3)',
    ]);
  });

  it("reports other hosts' groups added and removed, never this host's own", () => {
    const group = (owner: string, vtep: string): Partial<GroupEntry> => ({ network: 'mc', group: '239.1.2.3', owner, vtep, endpoints: ['e1'] });
    store.nets = [{ name: 'mc', vni: 4200, subnets: ['198.19.4.0/24'], encrypted: false }];
    store.grps = [];
    events.start();
    const before = log.recent().length;
    store.grps = [group('node2', '198.18.0.2'), group('node1', '198.18.0.1')];
    store.emit('change');
    store.grps = [group('node1', '198.18.0.1')];
    store.emit('change');
    expect(log.recent().slice(before).map((e) => [e.type, e.action, e.node, e.vni, e.summary])).toEqual([
      ['group', 'added', 'node2', 4200, 'group 239.1.2.3 of mc joined on node2 (198.18.0.2)'],
      ['group', 'removed', 'node2', 4200, 'group 239.1.2.3 of mc left on node2 (198.18.0.2)'],
    ]);
  });
});
