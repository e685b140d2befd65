import { describe, expect, it } from 'vitest';
import { eventually, tsAddress, tsState, useInteropNodes } from './cluster.js';

const { haveGo, go, ts } = useInteropNodes();

describe.skipIf(!haveGo)('mixed TS/Go clusters', () => {
  it('3 TS + 2 Go: everybody sees everybody alive', async () => {
    const t0 = await ts('ts-0');
    const g0 = await go('go-0', ['-join', tsAddress(t0)]);
    const t1 = await ts('ts-1');
    await t1.join([g0.address]);
    const g1 = await go('go-1', ['-join', tsAddress(t1)]);
    const t2 = await ts('ts-2');
    await t2.join([g1.address]);
    const names = ['go-0', 'go-1', 'ts-0', 'ts-1', 'ts-2'];
    // Usually within half a second. A node that missed a broadcast (or suspected a member whose
    // probe answer a loaded machine delayed) is set right by the next push-pull, 30 s on a LAN.
    const within = 45_000;
    for (const t of [t0, t1, t2]) {
      await eventually(() => names.every((n) => tsState(t, n) === 'alive'), within, `${t.localNode().name} sees all`);
    }
    for (const g of [g0, g1]) {
      const seen = await g.until((m) => names.every((n) => m.some((x) => x.name === n && x.state === 'alive')), within);
      expect(seen.map((x) => x.name).sort()).toEqual(names);
    }
  }, 120_000);

  it('a killed Go node is declared dead by TS', async () => {
    const t = await ts('ts-obs');
    const t2 = await ts('ts-obs2');
    await t2.join([tsAddress(t)]);
    const g = await go('go-victim', ['-join', tsAddress(t)]);
    await eventually(() => tsState(t, 'go-victim') === 'alive' && tsState(t2, 'go-victim') === 'alive', 10_000, 'go-victim alive');
    await g.kill();
    await eventually(() => tsState(t, 'go-victim') === 'dead' && tsState(t2, 'go-victim') === 'dead', 30_000, 'go-victim dead on TS');
  });

  it('a killed TS node is declared dead by Go', async () => {
    const g = await go('go-obs');
    const g2 = await go('go-obs2', ['-join', g.address]);
    const t = await ts('ts-victim');
    await t.join([g.address]);
    await g2.until((m) => m.some((x) => x.name === 'ts-victim' && x.state === 'alive'), 10_000);
    await t.shutdown(); // no leave: silence, like kill -9
    for (const p of [g, g2]) await p.until((m) => m.some((x) => x.name === 'ts-victim' && x.state === 'dead'), 30_000);
  });

  it('a TS node restarted under the same name and port is taken back by Go', async () => {
    const g = await go('go-keeper');
    const first = await ts('ts-phoenix');
    const port = first.localNode().port;
    await first.join([g.address]);
    await g.until((m) => m.some((x) => x.name === 'ts-phoenix' && x.state === 'alive'), 10_000);
    await first.shutdown();
    const dead = await g.until((m) => m.some((x) => x.name === 'ts-phoenix' && x.state === 'dead'), 30_000);
    const deadIncarnation = dead.find((x) => x.name === 'ts-phoenix')!.incarnation;
    const again = await ts('ts-phoenix', { bindPort: port });
    await again.join([g.address]);
    // Go's state says we are dead at a higher incarnation: we refute above it.
    const back = await g.until((m) => m.some((x) => x.name === 'ts-phoenix' && x.state === 'alive'), 10_000);
    expect(back.find((x) => x.name === 'ts-phoenix')!.incarnation).toBeGreaterThan(deadIncarnation);
  });

  it('graceful leave of a Go node is seen as left by TS', async () => {
    const t = await ts('ts-l');
    const g = await go('go-leaver', ['-join', tsAddress(t)]);
    await eventually(() => tsState(t, 'go-leaver') === 'alive', 10_000, 'go-leaver alive');
    await g.leave();
    await eventually(() => tsState(t, 'go-leaver') === 'left', 10_000, 'go-leaver left');
  });

  it('graceful leave of a TS node is seen as left by Go', async () => {
    const g = await go('go-l');
    const t = await ts('ts-leaver');
    await t.join([g.address]);
    await g.until((m) => m.some((x) => x.name === 'ts-leaver' && x.state === 'alive'), 10_000);
    await t.leave(5_000);
    const seen = await g.until((m) => m.some((x) => x.name === 'ts-leaver' && x.state !== 'alive'), 10_000);
    expect(seen.find((x) => x.name === 'ts-leaver')?.state).toBe('left');
    const ev = await g.waitFor((e) => e.event === 'leave' && e.node === 'ts-leaver');
    expect(ev.state).toBe('left');
  });

  it('push/pull carries 100+ node states both ways', async () => {
    const g = await go('go-big', ['-fake-nodes', '120']);
    const t = await ts('ts-big');
    await t.join([g.address]);
    // The join's push/pull answer alone carries 121 states.
    expect(t.members().filter((n) => n.name.startsWith('fake-')).length).toBe(120);
    const g2 = await go('go-big2', ['-join', tsAddress(t)]);
    const seen = await g2.until((m) => m.filter((x) => x.name.startsWith('fake-')).length === 120, 10_000);
    expect(seen.some((x) => x.name === 'go-big')).toBe(true);
  });

  it('user messages both ways, by packet and by stream', async () => {
    const received: string[] = [];
    const t = await ts('ts-user', {}, {
      delegate: {
        nodeMeta: () => Buffer.alloc(0), notifyMsg: (m) => received.push(m.toString()),
        getBroadcasts: () => [], localState: () => Buffer.alloc(0), mergeRemoteState: () => undefined,
      },
    });
    const g = await go('go-user', ['-join', tsAddress(t)]);
    await eventually(() => tsState(t, 'go-user') === 'alive', 10_000, 'go-user alive');
    g.command('user-udp ts-user hello-by-udp');
    g.command('user-tcp ts-user hello-by-tcp');
    await eventually(() => received.length === 2, 10_000, 'user messages from Go');
    expect(received.sort()).toEqual(['hello-by-tcp', 'hello-by-udp']);
    await t.sendBestEffort('go-user', Buffer.from('ts-udp'));
    await t.sendReliable('go-user', Buffer.from('ts-tcp'));
    await g.waitFor((e) => e.event === 'msg' && e.data === 'ts-udp', 10_000);
    await g.waitFor((e) => e.event === 'msg' && e.data === 'ts-tcp', 10_000);
  });
});
