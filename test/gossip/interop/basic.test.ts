import { describe, expect, it } from 'vitest';
import { eventually, tsState, useInteropNodes } from './cluster.js';

const { haveGo, go, ts } = useInteropNodes();

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
