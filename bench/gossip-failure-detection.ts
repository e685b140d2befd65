/**
 * Failure detection time, TypeScript vs Go observers in the same run, on
 * loopback at DefaultLANConfig. A cluster of 2 TS + 2 Go observers and one
 * victim; the victim is killed without a word (kill -9 for a Go victim, a
 * shutdown without leave for a TS victim) and we time how long each observer
 * takes to declare it dead. Repeated for several victims of each kind.
 *
 *   npx tsx bench/gossip-failure-detection.ts [--rounds 3]
 *
 * memberlist reference (PROTOCOLS.md, two Go nodes): 5.5–6.6 s.
 */
import { Memberlist } from '../src/gossip/memberlist.js';
import { GoPeer, buildGoPeer } from '../src/testkit/go-peer.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

function stats(xs: number[]): string {
  if (xs.length === 0) return 'n/a';
  const sorted = [...xs].sort((a, b) => a - b);
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  return `mean ${(mean / 1000).toFixed(2)} s, min ${(sorted[0]! / 1000).toFixed(2)} s, max ${(sorted[sorted.length - 1]! / 1000).toFixed(2)} s (n=${xs.length})`;
}

async function main(): Promise<void> {
  const rounds = Number(arg('rounds', '3'));
  const binary = await buildGoPeer();
  if (!binary) throw new Error('go or golang-github-hashicorp-memberlist-dev missing');
  const tsTimes: number[] = [];
  const goTimes: number[] = [];
  const deadAt = new Map<string, Map<string, number>>(); // victim → observer → ms

  const record = (victim: string, observer: string, at: number): void => {
    let m = deadAt.get(victim);
    if (!m) deadAt.set(victim, (m = new Map()));
    if (!m.has(observer)) m.set(observer, at);
  };
  const tsObserver = (name: string): Promise<Memberlist> =>
    Memberlist.create({ name, bindAddr: '127.0.0.1', bindPort: 0 }, {
      events: {
        notifyJoin: () => undefined,
        notifyUpdate: () => undefined,
        notifyLeave: (n) => { if (n.state === 'dead') record(n.name, name, Date.now()); },
      },
    });

  const ts1 = await tsObserver('ts-obs-1');
  const ts2 = await tsObserver('ts-obs-2');
  const seed = `127.0.0.1:${ts1.localNode().port}`;
  await ts2.join([seed]);
  const go1 = await GoPeer.start(binary, 'go-obs-1', ['-join', seed]);
  const go2 = await GoPeer.start(binary, 'go-obs-2', ['-join', seed]);
  const goObservers = [go1, go2];
  try {
    for (let r = 0; r < rounds; r++) {
      for (const kind of ['go', 'ts'] as const) {
        const victimName = `${kind}-victim-${r}`;
        let killedAt = 0;
        if (kind === 'go') {
          const v = await GoPeer.start(binary, victimName, ['-join', seed]);
          await waitAllAlive(victimName, [ts1, ts2], goObservers);
          killedAt = Date.now();
          await v.kill();
        } else {
          const v = await Memberlist.create({ name: victimName, bindAddr: '127.0.0.1', bindPort: 0 });
          await v.join([seed]);
          await waitAllAlive(victimName, [ts1, ts2], goObservers);
          killedAt = Date.now();
          await v.shutdown();
        }
        const deadline = Date.now() + 60_000;
        for (;;) {
          for (const g of goObservers) {
            const ev = g.events.find((e) => e.event === 'leave' && e.node === victimName && e.state === 'dead');
            if (ev) record(victimName, g.name, ev.t);
          }
          if ((deadAt.get(victimName)?.size ?? 0) >= 4 || Date.now() > deadline) break;
          await new Promise((res) => setTimeout(res, 50));
        }
        const seen = deadAt.get(victimName) ?? new Map<string, number>();
        for (const [observer, at] of seen) (observer.startsWith('ts') ? tsTimes : goTimes).push(at - killedAt);
        console.log(`${victimName}: ${[...seen].map(([o, at]) => `${o} ${((at - killedAt) / 1000).toFixed(2)} s`).join(', ')}`);
        // Let the dead node's news settle before the next victim.
        await new Promise((res) => setTimeout(res, 2_000));
      }
    }
  } finally {
    await Promise.all(goObservers.map((g) => g.kill()));
    await Promise.all([ts1.shutdown(), ts2.shutdown()]);
  }
  console.log(`TS observers: ${stats(tsTimes)}`);
  console.log(`Go observers: ${stats(goTimes)}`);
  console.log('memberlist reference (PROTOCOLS.md, two Go nodes): 5.5–6.6 s');
}

async function waitAllAlive(name: string, ts: Memberlist[], go: GoPeer[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const tsOk = ts.every((m) => m.member(name)?.state === 'alive');
    const goOk = (await Promise.all(go.map((g) => g.members()))).every((list) => list.some((x) => x.name === name && x.state === 'alive'));
    if (tsOk && goOk) return;
    if (Date.now() > deadline) throw new Error(`${name} not alive everywhere`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
