/**
 * Scale benchmark of the gossip engine: N memberlist nodes (default 1,000) on
 * the in-memory network, driven by a virtual clock at DefaultLANConfig
 * timers, with 0 %, 10 % and 30 % packet loss. Measures, in virtual time:
 *
 *   - time until 99.99 % of nodes know a newly joined node (alive);
 *   - time until 99.99 % of nodes have declared a killed node dead;
 *   - bytes sent per node per second, at rest (probes only) and while the
 *     news spreads.
 *
 * memberlist's own model for 1,000 nodes (gossip 200 ms × 3): ~2.2 s to
 * converge, ~330 kbit/s — printed beside ours.
 *
 *   npx tsx bench/gossip-scale.ts [--nodes 1000] [--loss 0,0.1,0.3] [--seed 1] [--compress]
 */
import { Memberlist } from '../src/gossip/memberlist.js';
import { MockNetwork, type MockTransport } from '../src/gossip/mock-network.js';
import { VirtualClock, seededRandom } from '../src/gossip/clock.js';

interface ScaleResult {
  loss: number;
  nodes: number;
  joinSpreadMs: number | null;
  failureSpreadMs: number | null;
  restBytesPerNodePerSec: number;
  spreadBytesPerNodePerSec: number;
  wallSeconds: number;
  falseDeaths: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

/** Sum of bytes sent by every transport. */
function bytesSent(transports: MockTransport[]): number {
  return transports.reduce((s, t) => s + t.counters.bytesSent, 0);
}

/** A bootstrapped cluster on one virtual clock. */
interface Cluster {
  clock: VirtualClock;
  network: MockNetwork;
  nodes: Memberlist[];
  transports: MockTransport[];
  seedAddr: string;
  make(name: string): Promise<Memberlist>;
  /** Per observer: when it learned of the node being watched. */
  knows: Map<string, number>;
  /** Per observer: when it declared the watched node dead. */
  sawDead: Map<string, number>;
  watch: { joining: string; dying: string };
  /** Deaths declared of nodes that were alive (false positives). */
  falseDeaths: number;
  /** Nodes the benchmark killed. */
  killed: Set<string>;
}

/**
 * Builds n nodes without loss: everyone joins node 0, then syncs with it once
 * so all tables are full; the broadcasts this produced are dropped, since the
 * full tables make them moot.
 */
async function bootstrap(n: number, seed: number, compress: boolean): Promise<Cluster> {
  const clock = new VirtualClock();
  const network = new MockNetwork({ clock, random: seededRandom(seed), delayMs: 1, jitterMs: 1 });
  const c: Cluster = {
    clock, network, nodes: [], transports: [], seedAddr: '', knows: new Map(), sawDead: new Map(),
    watch: { joining: '', dying: '' }, falseDeaths: 0, killed: new Set(),
    make: async (name: string) => {
      const transport = network.createTransport();
      c.transports.push(transport);
      return Memberlist.create({
        name, transport, clock, random: seededRandom(seed * 100_003 + c.transports.length), enableCompression: compress,
      }, {
        events: {
          notifyJoin: (node) => { if (node.name === c.watch.joining && !c.knows.has(name)) c.knows.set(name, clock.now()); },
          notifyLeave: (node) => {
            if (node.name === c.watch.dying) {
              if (!c.sawDead.has(name)) c.sawDead.set(name, clock.now());
            } else if (!c.killed.has(node.name)) {
              c.falseDeaths++;
            }
          },
          notifyUpdate: () => undefined,
        },
      });
    },
  };
  const phase = Date.now();
  for (let i = 0; i < n; i++) c.nodes.push(await c.make(`n${i}`));
  const first = c.nodes[0]!.localNode();
  c.seedAddr = `${first.addr}:${first.port}`;
  for (let i = 1; i < n; i++) await c.nodes[i]!.join([c.seedAddr]);
  for (let i = 1; i < n; i++) await c.nodes[i]!.pushPullWith(c.seedAddr);
  for (const m of c.nodes) m.broadcasts.reset();
  await clock.advance(3_000);
  const incomplete = c.nodes.filter((m) => m.numMembers() !== n).length;
  if (incomplete > 0) console.error(`warning: ${incomplete} nodes do not know all ${n} members after bootstrap`);
  console.error(`bootstrap of ${n} nodes: ${((Date.now() - phase) / 1000).toFixed(0)} s wall`);
  return c;
}

async function runScenario(c: Cluster, loss: number, round: number): Promise<ScaleResult> {
  const wallStart = Date.now();
  const { clock, network, nodes, transports } = c;
  const falseBefore = c.falseDeaths;
  const live = (): number => nodes.filter((m) => !m.hasShutdown()).length;
  network.loss = loss;

  // At rest: probes only.
  let before = bytesSent(transports);
  await clock.advance(5_000);
  const restBytesPerNodePerSec = (bytesSent(transports) - before) / live() / 5;

  // A new node joins one member; the news spreads by gossip.
  c.watch.joining = `newcomer${round}`;
  c.knows.clear();
  const joinTarget = Math.ceil(0.9999 * live());
  before = bytesSent(transports);
  const joinStart = clock.now();
  const newcomer = await c.make(c.watch.joining);
  nodes.push(newcomer);
  await newcomer.join([c.seedAddr]);
  const joinSpread = await clock.advanceUntil(() => c.knows.size >= joinTarget, 60_000, 50);
  const spreadWindow = Math.max(clock.now() - joinStart, 1) / 1000;
  const spreadBytesPerNodePerSec = (bytesSent(transports) - before) / live() / spreadWindow;

  // A node dies silently; every other must declare it dead.
  const dying = nodes[1 + round]!;
  c.watch.dying = dying.localNode().name;
  c.killed.add(c.watch.dying);
  c.sawDead.clear();
  await dying.shutdown();
  const deadTarget = Math.ceil(0.9999 * live());
  const failureSpread = await clock.advanceUntil(() => c.sawDead.size >= deadTarget, 180_000, 100);
  // Let the dead news settle before the next round.
  await clock.advance(5_000);
  return {
    loss, nodes: live(),
    joinSpreadMs: c.knows.size >= joinTarget ? joinSpread : null,
    failureSpreadMs: c.sawDead.size >= deadTarget ? failureSpread : null,
    restBytesPerNodePerSec, spreadBytesPerNodePerSec,
    wallSeconds: (Date.now() - wallStart) / 1000,
    falseDeaths: c.falseDeaths - falseBefore,
  };
}

async function main(): Promise<void> {
  const n = Number(arg('nodes', '1000'));
  const losses = arg('loss', '0,0.1,0.3').split(',').map(Number);
  const seed = Number(arg('seed', '1'));
  const compress = process.argv.includes('--compress');
  console.log(`gossip scale: ${n} nodes, DefaultLANConfig, virtual time, compression ${compress ? 'on' : 'off'}`);
  console.log('loss  | new node known by 99.99% | failure known by 99.99% | bytes/node/s rest | bytes/node/s spreading | false deaths | wall');
  const cluster = await bootstrap(n, seed, compress);
  for (const [round, loss] of losses.entries()) {
    const r = await runScenario(cluster, loss, round);
    const fmt = (ms: number | null): string => (ms === null ? 'not reached' : `${(ms / 1000).toFixed(2)} s`);
    console.log(
      `${(loss * 100).toFixed(0).padStart(3)} % | ${fmt(r.joinSpreadMs).padStart(24)} | ${fmt(r.failureSpreadMs).padStart(23)} | ` +
      `${r.restBytesPerNodePerSec.toFixed(0).padStart(17)} | ${r.spreadBytesPerNodePerSec.toFixed(0).padStart(22)} | ` +
      `${String(r.falseDeaths).padStart(12)} | ${r.wallSeconds.toFixed(0)} s`,
    );
  }
  await Promise.all(cluster.nodes.map((m) => m.shutdown()));
  console.log('memberlist model (1,000 nodes, 0 % loss): ~2.2 s to converge, ~330 kbit/s (≈41 kB/s)');
  // The model's bandwidth is the ceiling with full gossip packets: UDPBufferSize × GossipNodes per
  // GossipInterval, sent and received. Ours above is what one piece of news actually costs.
  const ceiling = ((1400 * 3) / 0.2) * 2 * 8 / 1000;
  console.log(`gossip ceiling at DefaultLANConfig (1400 B × 3 nodes / 200 ms, in + out): ${ceiling.toFixed(0)} kbit/s per node`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
