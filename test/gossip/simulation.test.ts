import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { PLAIN_PACKET, addrOf, useSimClusters } from './helpers.js';
import { MessageType, encodeMessage, encodePacket, type Suspect } from '../../src/gossip/wire/index.js';
import type { Memberlist } from '../../src/gossip/memberlist.js';
import type { NodeInfo } from '../../src/gossip/node.js';

const simCluster = useSimClusters();


describe('SWIM behaviour on the mock network', () => {
  it('a falsely suspected node refutes with a higher incarnation', async () => {
    const c = simCluster(11);
    const nodes = await c.addConverged(4);
    const before = nodes[0]!.member('node1')!.incarnation;
    const rogue = c.network.createTransport();
    const s: Suspect = { Incarnation: before, Node: 'node1', From: 'rogue' };
    await rogue.writeTo(encodePacket([encodeMessage(MessageType.Suspect, s)], PLAIN_PACKET), addrOf(nodes[0]!));
    await c.run(1);
    expect(nodes[0]!.member('node1')!.state).toBe('suspect');
    await c.runUntil(() => nodes.every((n) => n.member('node1')!.state === 'alive' && n.member('node1')!.incarnation > before), 10_000);
    for (const n of nodes) expect(n.member('node1')).toMatchObject({ state: 'alive' });
    expect(nodes[1]!.member('node1')!.incarnation).toBeGreaterThan(before);
    expect(nodes[1]!.getStats().refutations).toBeGreaterThan(0);
    expect(nodes[1]!.healthScore()).toBeGreaterThan(0); // refuting costs health (Lifeguard)
  });

  it('a short partition heals by itself: suspects refute before they are declared dead', async () => {
    const c = simCluster(12);
    const nodes = await c.addConverged(6);
    const ips = nodes.map((n) => n.localNode().addr);
    c.network.partition(ips.slice(0, 3), ips.slice(3));
    await c.runUntil(() => nodes.some((n) => n.members().some((m) => m.state === 'suspect')), 10_000);
    c.network.heal();
    await c.runUntil(() => nodes.every((n) => n.members().every((m) => m.state === 'alive')), 30_000);
    for (const n of nodes) expect(n.members().map((m) => m.state)).toEqual(Array(6).fill('alive'));
    expect(nodes.reduce((s, n) => s + n.getStats().refutations, 0)).toBeGreaterThan(0);
  });

  it('a long partition splits the cluster; a join across heals it, as Serf reconnects do', async () => {
    const c = simCluster(16);
    const nodes = await c.addConverged(6);
    const ips = nodes.map((n) => n.localNode().addr);
    c.network.partition(ips.slice(0, 3), ips.slice(3));
    const split = (): boolean => nodes.every((n, i) => nodes.every((o, j) => (i < 3) === (j < 3) || n.member(o.localNode().name)?.state === 'dead'));
    await c.runUntil(split, 60_000);
    expect(split()).toBe(true);
    expect(nodes[0]!.numMembers()).toBe(3);
    c.network.heal();
    await c.join(nodes[0]!, nodes[3]!);
    await c.runUntil(() => nodes.every((n) => n.numMembers() === 6 && n.members().every((m) => m.state === 'alive')), 60_000);
    for (const n of nodes) expect(n.members().map((m) => m.state)).toEqual(Array(6).fill('alive'));
  });

  it('10% packet loss causes no false deaths; a real failure is still found', async () => {
    const c = simCluster(13);
    const nodes = await c.addConverged(8);
    const leaves: NodeInfo[] = [];
    for (const n of nodes) n.on('leave', (info: NodeInfo) => leaves.push(info));
    c.network.loss = 0.1;
    await c.run(120_000);
    expect(leaves).toEqual([]);
    await nodes[7]!.shutdown();
    const others = nodes.slice(0, 7);
    await c.runUntil(() => others.every((n) => n.member('node7')?.state === 'dead'), 120_000);
    for (const n of others) expect(n.member('node7')?.state).toBe('dead');
  });

  it('30% loss: indirect probes and TCP fallback keep healthy nodes alive', async () => {
    const c = simCluster(14);
    const nodes = await c.addConverged(6);
    c.network.loss = 0.3;
    await c.run(60_000);
    for (const n of nodes) expect(n.numMembers()).toBe(6);
    const stats = nodes.map((n) => n.getStats());
    expect(stats.reduce((s, x) => s + x.indirectProbes, 0)).toBeGreaterThan(0);
    expect(stats.reduce((s, x) => s + x.tcpFallbackPings, 0)).toBeGreaterThan(0);
  });

  it('dead nodes are reaped after GossipToTheDeadTime', async () => {
    const c = simCluster(15);
    const nodes = await c.addConverged(3);
    await nodes[2]!.shutdown();
    await c.runUntil(() => nodes[0]!.member('node2')?.state === 'dead', 60_000);
    await c.run(40_000); // 30 s, then the next probe round reshuffles and reaps
    expect(nodes[0]!.member('node2')).toBeUndefined();
    expect(nodes[0]!.members().map((m) => m.name).sort()).toEqual(['node0', 'node1']);
  });
});

describe('delegates and events', () => {
  it('meta, user state, user messages and updates flow through the delegates', async () => {
    const c = simCluster(21);
    const got: Record<string, string[]> = { msgs: [], remote: [], joins: [], updates: [] };
    let meta = 'role=a';
    const mk = (name: string): Promise<Memberlist> => c.add(name, {}, {
      delegate: {
        nodeMeta: () => Buffer.from(meta),
        notifyMsg: (m) => got.msgs!.push(`${name}<${m.toString()}`),
        getBroadcasts: () => [],
        localState: (join) => Buffer.from(`state-of-${name}${join ? '-join' : ''}`),
        mergeRemoteState: (b) => got.remote!.push(`${name}<${b.toString()}`),
      },
      events: {
        notifyJoin: (n) => got.joins!.push(`${name}:${n.name}`),
        notifyLeave: () => undefined,
        notifyUpdate: (n) => got.updates!.push(`${name}:${n.name}:${n.meta.toString()}`),
      },
    });
    const a = await mk('a');
    const b = await mk('b');
    await c.join(b, a);
    expect(got.remote!.sort()).toEqual(['a<state-of-b-join', 'b<state-of-a-join']);
    expect(b.member('a')!.meta.toString()).toBe('role=a');
    expect(got.joins).toContain('a:b');
    expect(got.joins).toContain('b:a');
    await a.sendBestEffort('b', Buffer.from('by-udp'));
    const reliable = a.sendReliable('b', Buffer.from('by-tcp'));
    await c.run(10);
    await reliable;
    await c.run(10);
    expect(got.msgs!.sort()).toEqual(['b<by-tcp', 'b<by-udp']);
    meta = 'role=b';
    const update = a.updateNode(5_000);
    await c.run(2_000);
    await update;
    expect(got.updates).toContain('b:a:role=b');
  });

  it('a merge delegate can refuse a join', async () => {
    const c = simCluster(22);
    const a = await c.add('a');
    const b = await c.add('b', {}, { merge: { notifyMerge: (peers) => { if (peers.some((p) => p.name === 'a')) throw new Error('not that cluster'); } } });
    await expect(c.join(b, a)).rejects.toMatchObject({ code: 'JOIN_FAILED' });
    expect(b.member('a')).toBeUndefined();
    expect(b.getStats().dropped.mergeRefused).toBe(1);
  });

  it('a conflict delegate hears of a name claimed from another address', async () => {
    const c = simCluster(23);
    const conflicts: string[] = [];
    const a = await c.add('a', {}, { conflict: { notifyConflict: (mine, other) => conflicts.push(`${mine.addr} vs ${other.addr}`) } });
    const b = await c.add('b');
    await c.join(b, a);
    const impostor = await c.add('b');
    await expect(c.join(impostor, a)).resolves.toBe(1);
    expect(conflicts.length).toBeGreaterThan(0);
    expect(a.member('b')!.addr).toBe(b.localNode().addr);
  });
});

describe('labels and encryption between TS nodes', () => {
  it('same label joins; a different label is refused and counted', async () => {
    const c = simCluster(31);
    const a = await c.add('a', { label: 'blue' });
    const b = await c.add('b', { label: 'blue' });
    await c.join(b, a);
    await c.runUntil(() => a.numMembers() === 2 && b.numMembers() === 2, 10_000);
    expect(a.member('b')?.state).toBe('alive');
    const x = await c.add('x', { label: 'red' });
    await expect(c.join(x, a)).rejects.toMatchObject({ code: 'JOIN_FAILED' });
    expect(a.getStats().dropped.badLabel).toBeGreaterThan(0);
  });

  it('encrypted cluster with a key ring: rotation without a restart', async () => {
    const c = simCluster(32);
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const a = await c.add('a', { secretKey: k1 });
    const b = await c.add('b', { secretKey: k1 });
    await c.join(b, a);
    for (const n of [a, b]) n.keyring()!.addKey(k2);
    a.keyring()!.useKey(k2); // a sends with k2, b still with k1: both decrypt both
    await c.run(10_000);
    expect(a.member('b')?.state).toBe('alive');
    expect(b.member('a')?.state).toBe('alive');
    b.keyring()!.useKey(k2);
    for (const n of [a, b]) n.keyring()!.removeKey(k1);
    await c.run(10_000);
    expect(a.member('b')?.state).toBe('alive');
    expect(a.getStats().dropped.decryptFailed + b.getStats().dropped.decryptFailed).toBe(0);
    const stranger = await c.add('s', { secretKey: k1 });
    await expect(c.join(stranger, a)).rejects.toMatchObject({ code: 'JOIN_FAILED' });
  });
});

describe('encryption rollout switches and admission', () => {
  it('verify-incoming/outgoing off lets a keyed node talk with plaintext nodes during a rollout', async () => {
    const c = simCluster(51);
    const key = randomBytes(16);
    const plainNode = await c.add('plain');
    const rolling = await c.add('rolling', { secretKey: key, gossipVerifyIncoming: false, gossipVerifyOutgoing: false });
    await c.join(rolling, plainNode);
    await c.run(5_000);
    expect(plainNode.member('rolling')?.state).toBe('alive');
    expect(rolling.member('plain')?.state).toBe('alive');
    // Second phase: encrypt outgoing; a keyed node that still accepts plaintext understands both.
    const keyed = await c.add('keyed', { secretKey: key, gossipVerifyIncoming: false });
    await c.join(keyed, rolling);
    await c.run(5_000);
    expect(keyed.member('rolling')?.state).toBe('alive');
    expect(rolling.member('keyed')?.state).toBe('alive');
  });

  it('cidrsAllowed keeps nodes from other networks out', async () => {
    const c = simCluster(52);
    const a = await c.add('a', { cidrsAllowed: ['198.18.0.0/24'] });
    const b = await c.add('b');
    const outsider = await c.add('outsider', {}, {}, '198.19.0.9');
    await c.join(b, a);
    await c.join(outsider, b);
    await c.run(10_000);
    expect(a.member('b')?.state).toBe('alive');
    expect(a.member('outsider')).toBeUndefined();
    expect(a.getStats().dropped.blockedAddress).toBeGreaterThan(0);
    expect(b.member('outsider')?.state).toBe('alive');
  });

  it('an alive delegate can veto nodes', async () => {
    const c = simCluster(53);
    const a = await c.add('a', {}, { alive: { notifyAlive: (n) => { if (n.name.startsWith('bad')) throw new Error('vetoed'); } } });
    const good = await c.add('good');
    const bad = await c.add('bad-1');
    await c.join(good, a);
    await c.join(bad, a);
    await c.run(3_000);
    expect(a.member('good')?.state).toBe('alive');
    expect(a.member('bad-1')).toBeUndefined();
  });
});


describe('names coming back at new addresses', () => {
  it('a left node may return from a new address; a dead one only after deadNodeReclaimTime', async () => {
    const c = simCluster(71);
    const a = await c.add('a', { deadNodeReclaimTimeMs: 20_000 });
    const b = await c.add('b');
    const d = await c.add('d');
    await c.join(b, a);
    await c.join(d, a);
    await c.runUntil(() => a.numMembers() === 3, 10_000);
    const leaving = b.leave(5_000);
    await c.run(2_000);
    await leaving;
    await b.shutdown();
    expect(a.member('b')?.state).toBe('left');
    const b2 = await c.add('b');
    await c.join(b2, a);
    expect(a.member('b')).toMatchObject({ state: 'alive', addr: b2.localNode().addr });

    await d.shutdown();
    await c.runUntil(() => a.member('d')?.state === 'dead', 60_000);
    const early = await c.add('d');
    await c.join(early, a).catch(() => 0);
    expect(a.member('d')).toMatchObject({ state: 'dead', addr: d.localNode().addr }); // conflict: refused
    await early.shutdown();
    await c.run(20_000);
    const late = await c.add('d');
    await c.join(late, a);
    expect(a.member('d')).toMatchObject({ state: 'alive', addr: late.localNode().addr });
  });
});

describe('requireNodeNames', () => {
  it('refuses to join an address without a node name, accepts name/addr', async () => {
    const c = simCluster(81);
    const a = await c.add('a');
    const b = await c.add('b', { requireNodeNames: true });
    const addr = `${a.localNode().addr}:${a.localNode().port}`;
    await expect(b.join([addr])).rejects.toMatchObject({ code: 'JOIN_FAILED' });
    const joined = b.join([`a/${addr}`]);
    await c.run(10);
    expect(await joined).toBe(1);
    expect(b.member('a')?.state).toBe('alive');
  });
});
