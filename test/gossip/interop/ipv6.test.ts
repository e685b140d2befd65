import { describe, expect, it } from 'vitest';
import { haveIpv6Loopback } from '../helpers.js';
import { requirement } from '../../../src/testkit/ci.js';
import { eventually, tsState, useInteropNodes } from './cluster.js';

const { haveGo, go, ts } = useInteropNodes();
const haveV6 = requirement(haveIpv6Loopback(), 'IPv6 on the loopback interface');

describe.skipIf(!haveGo || !haveV6)('IPv6 with Go memberlist', () => {
  it('TS and Go nodes on ::1 join both ways and see each other alive', async () => {
    const t = await ts('ts-v6', { bindAddr: '::1' });
    expect(t.localNode().addr).toBe('::1');
    const g = await go('go-v6', ['-bind', '::1', '-join', `[::1]:${t.localNode().port}`]);
    expect((await g.waitFor((e) => e.event === 'join-result')).joined).toBe(1);
    const t2 = await ts('ts-v6b', { bindAddr: '::1' });
    expect(await t2.join([`[::1]:${g.port}`])).toBe(1);
    for (const n of [t, t2]) await eventually(() => ['go-v6', 'ts-v6', 'ts-v6b'].every((x) => tsState(n, x) === 'alive'), 15_000, 'all alive on ::1');
    const seen = await g.until((m) => ['ts-v6', 'ts-v6b'].every((x) => m.some((y) => y.name === x && y.state === 'alive')), 15_000);
    expect(seen.find((m) => m.name === 'ts-v6')?.addr).toBe('::1');
  });
});
