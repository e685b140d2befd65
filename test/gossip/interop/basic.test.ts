import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Memberlist } from '../../../src/gossip/memberlist.js';
import { needGo } from '../go.js';
import { GoPeer, buildGoPeer } from './go-peer.js';
import { eventually, startTsNode, tsState } from './cluster.js';

const haveGo = needGo();
let binary = '';
const goPeers: GoPeer[] = [];
const tsNodes: Memberlist[] = [];

beforeAll(async () => {
  if (haveGo) binary = (await buildGoPeer())!;
}, 600_000);

afterEach(async () => {
  await Promise.all(goPeers.splice(0).map((p) => p.kill()));
  await Promise.all(tsNodes.splice(0).map((n) => n.shutdown()));
});

async function go(name: string, args: string[] = []): Promise<GoPeer> {
  const p = await GoPeer.start(binary, name, args);
  goPeers.push(p);
  return p;
}

async function ts(name: string, ...rest: Parameters<typeof startTsNode> extends [string, ...infer R] ? R : never): Promise<Memberlist> {
  const m = await startTsNode(name, ...rest);
  tsNodes.push(m);
  return m;
}

describe.skipIf(!haveGo)('interop with Go memberlist 0.2.2', () => {
  it('TS joins Go: both see each other alive', async () => {
    const g = await go('go-a');
    const t = await ts('ts-a');
    expect(await t.join([g.address])).toBe(1);
    await eventually(() => tsState(t, 'go-a') === 'alive', 10_000, 'TS sees go-a');
    const members = await g.until((m) => m.some((x) => x.name === 'ts-a' && x.state === 'alive'), 10_000);
    expect(members.find((x) => x.name === 'ts-a')?.port).toBe(t.localNode().port);
  });

  it('Go joins TS: both see each other alive', async () => {
    const t = await ts('ts-b');
    const g = await go('go-b', ['-join', `127.0.0.1:${t.localNode().port}`]);
    const result = await g.waitFor((e) => e.event === 'join-result');
    expect(result.error).toBeUndefined();
    expect(result.joined).toBe(1);
    await eventually(() => tsState(t, 'go-b') === 'alive', 10_000, 'TS sees go-b');
    await g.until((m) => m.some((x) => x.name === 'ts-b' && x.state === 'alive'), 10_000);
  });
});
