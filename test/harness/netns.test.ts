/**
 * The namespace harness itself: the underlay carries IPv4 and IPv6 between
 * hosts, the switch's loss and partition rules do what they say, captures
 * return the packets, and clean-up leaves nothing behind — after destroy(),
 * after a failed create(), and when the owning process is killed or throws.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { haveNetns, haveTools, requirement } from '../../src/testkit/ci.js';
import {
  Topology,
  cleanStaleRuns,
  isHarnessError,
  listByPrefix,
  nsExec,
  runPrefix,
  sh,
  spawnManaged,
  MAX_LINK_NAME,
} from '../../src/testkit/netns.js';
import { RUN_RECORD_DIR } from '../../src/testkit/run.js';
import { countPcapRecords } from './pcap.js';

const ready = requirement(
  haveNetns() && haveTools('ping', 'nft', 'tcpdump'),
  'namespace harness tests need root, iproute2, ping, nftables and tcpdump',
);

/** Sends `count` pings from `ns` to `target`; returns how many came back (ping exits 1 on loss). */
async function pingReceived(ns: string, target: string, count: number, intervalS = 0.01): Promise<number> {
  const cmd = ['ping', '-n', '-q', '-c', String(count), '-i', String(intervalS), '-W', '1', target];
  const out = await nsExec(ns, cmd, { timeoutMs: 30_000 }).then(
    (r) => r.stdout,
    (e: unknown) => (isHarnessError(e, 'COMMAND_FAILED') && e.exitCode === 1 ? (e.stdout ?? '') : Promise.reject(e)),
  );
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(out);
  if (!m) throw new Error(`unexpected ping output: ${out}`);
  return Number(m[2]);
}

/** True if `pid` exists and is not a zombie (a zombie waits for a reaper that may be slow or absent). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe.skipIf(!ready)('namespace topology', () => {
  let topo: Topology;

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 3, underlay: 'dual' });
  });
  afterAll(async () => {
    await topo?.destroy();
  });

  it('names every namespace and link with the run prefix, links within 15 characters', async () => {
    expect(topo.prefix.startsWith(runPrefix())).toBe(true);
    const found = listByPrefix(topo.prefix);
    expect(found.namespaces).toEqual([topo.host(1).ns, topo.host(2).ns, topo.host(3).ns, topo.switchNs].sort());
    expect(found.links).toEqual([]); // nothing in the root namespace
    const { stdout } = await nsExec(topo.switchNs, ['ip', '-o', 'link', 'show']);
    const links = [...stdout.matchAll(/^\d+:\s+([^:@\s]+)/gm)].map((m) => m[1] ?? '').filter((n) => n !== 'lo');
    expect(links).toHaveLength(4);
    for (const link of links) {
      expect(link.startsWith(topo.prefix)).toBe(true);
      expect(link.length).toBeLessThanOrEqual(MAX_LINK_NAME);
    }
  });

  it('gives hosts the documented underlay addresses', () => {
    expect(topo.hosts.map((h) => [h.addr4, h.addr6])).toEqual([
      ['198.18.0.1', '2001:db8::1'],
      ['198.18.0.2', '2001:db8::2'],
      ['198.18.0.3', '2001:db8::3'],
    ]);
  });

  it('carries IPv4 and IPv6 between every pair of hosts', async () => {
    for (const from of topo.hosts) {
      for (const to of topo.hosts.filter((h) => h !== from)) {
        expect(await pingReceived(from.ns, to.addr4 ?? '', 2)).toBe(2);
        expect(await pingReceived(from.ns, to.addr6 ?? '', 2)).toBe(2);
      }
    }
  });

  it('drops about the configured share of frames, and stops when the rule is removed', async () => {
    const rule = await topo.dropRule({ percent: 30, from: [1], to: [2] });
    const received = await pingReceived(topo.host(1).ns, topo.host(2).addr4 ?? '', 200);
    const dropped = await rule.dropped();
    await rule.remove();
    // 200 draws at p = 0.3: mean 60 lost, σ ≈ 6.5; the bounds are ±4.6 σ.
    expect(200 - received).toBeGreaterThanOrEqual(30);
    expect(200 - received).toBeLessThanOrEqual(90);
    expect(dropped).toBeGreaterThanOrEqual(200 - received); // every lost echo was dropped by the rule
    expect(await pingReceived(topo.host(1).ns, topo.host(2).addr4 ?? '', 20)).toBe(20);
  });

  it('partitions host sets in both directions and heals', async () => {
    const cut = await topo.partition([1], [2, 3]);
    expect(await pingReceived(topo.host(1).ns, topo.host(2).addr4 ?? '', 3, 0.2)).toBe(0);
    expect(await pingReceived(topo.host(3).ns, topo.host(1).addr6 ?? '', 3, 0.2)).toBe(0);
    expect(await pingReceived(topo.host(2).ns, topo.host(3).addr4 ?? '', 3, 0.2)).toBe(3); // same side: untouched
    expect(await cut.dropped()).toBeGreaterThan(0);
    await cut.remove();
    expect(await pingReceived(topo.host(1).ns, topo.host(2).addr4 ?? '', 3, 0.2)).toBe(3);
    expect(await pingReceived(topo.host(3).ns, topo.host(1).addr6 ?? '', 3, 0.2)).toBe(3);
  });

  it('captures the packets matching a filter as a pcap file', async () => {
    const capture = await topo.capture(topo.host(2).ns, topo.host(2).iface, 'icmp[icmptype] = icmp-echo', {
      count: 3,
      durationMs: 10_000,
    });
    await pingReceived(topo.host(1).ns, topo.host(2).addr4 ?? '', 3, 0.05);
    expect(countPcapRecords(await capture.pcap)).toBe(3);
  });

  it('creates container namespaces under the prefix and removes them', async () => {
    const c = await topo.container(2, 'web1');
    expect(c.ns.startsWith(topo.prefix)).toBe(true);
    expect(listByPrefix(topo.prefix).namespaces).toContain(c.ns);
    const { stdout } = await nsExec(c.ns, ['ip', '-o', 'link', 'show', 'lo']);
    expect(stdout).toMatch(/UP/);
    await c.remove();
    expect(listByPrefix(topo.prefix).namespaces).not.toContain(c.ns);
  });

  it('waits for a line of a spawned process and reports its output when it exits first', async () => {
    const p = topo.spawn(topo.host(1).ns, ['sh', '-c', 'echo starting; echo "port 4242 open"; sleep 30']);
    const m = await p.waitForLine(/port (\d+) open/, 5000);
    expect(m[1]).toBe('4242');
    await p.stop();
    const failing = topo.spawn(topo.host(1).ns, ['sh', '-c', 'echo boom >&2; exit 3']);
    const error = await failing.waitForLine(/never/, 5000).catch((e: unknown) => e);
    expect(isHarnessError(error, 'PROCESS_EXITED')).toBe(true);
    expect(String(error)).toMatch(/boom/);
  });

  it('rejects a failing command with its stderr', async () => {
    const error = await nsExec(topo.host(1).ns, ['ip', 'link', 'set', 'nosuchlink', 'up']).catch((e: unknown) => e);
    expect(isHarnessError(error, 'COMMAND_FAILED')).toBe(true);
    expect(String(error)).toMatch(/nosuchlink/);
  });
});

describe.skipIf(!ready)('namespace clean-up', () => {
  const childScript = fileURLToPath(new URL('./fixtures/topology-child.ts', import.meta.url));

  it('destroy() removes everything and kills spawned processes', async () => {
    const topo = await Topology.create({ hosts: 2, underlay: 'ipv6' });
    const sleeper = topo.spawn(topo.host(2).ns, ['sleep', '300']);
    await topo.container(1, 'c');
    await topo.dropRule({ percent: 50 });
    await topo.destroy();
    await topo.destroy(); // idempotent
    expect(listByPrefix(topo.prefix)).toEqual({ namespaces: [], links: [], sockets: [] });
    expect((await sleeper.exited).signal).toBe('SIGTERM');
  });

  it('a create() that fails half-way leaves nothing behind', async () => {
    const before = listByPrefix(runPrefix());
    const error = await Topology.create({ hosts: 2, mtu: 70_000 }).catch((e: unknown) => e);
    expect(isHarnessError(error, 'COMMAND_FAILED')).toBe(true);
    expect(listByPrefix(runPrefix())).toEqual(before);
  });

  for (const mode of ['wait', 'throw'] as const) {
    it(`a process that ${mode === 'wait' ? 'is killed by SIGTERM' : 'dies of an uncaught error'} removes its topology`, async () => {
      const child = spawnManaged(['node', '--import', 'tsx', childScript, mode]);
      const [, prefix, pid] = await child.waitForLine(/^READY (\S+) (\d+)/, 60_000);
      expect(listByPrefix(prefix ?? '').namespaces).toHaveLength(3);
      if (mode === 'wait') child.signal('SIGTERM');
      const status = await child.exited;
      expect(mode === 'wait' ? status.signal : status.code).toEqual(mode === 'wait' ? 'SIGTERM' : 1);
      expect(listByPrefix(prefix ?? '')).toEqual({ namespaces: [], links: [], sockets: [] });
      expect(isRunning(Number(pid))).toBe(false);
    });
  }

  it('removes leftovers of dead runs, and only those', async () => {
    const deadId = `zz${Math.floor(Math.random() * 36 ** 3).toString(36).padStart(3, '0')}`;
    const deadNs = `ovt${deadId}h1`;
    mkdirSync(RUN_RECORD_DIR, { recursive: true });
    writeFileSync(`${RUN_RECORD_DIR}/${deadId}.json`, JSON.stringify({ pid: 999_999_999, startTicks: 1 }));
    await sh(['ip', 'netns', 'add', deadNs]);
    const removed = cleanStaleRuns();
    expect(removed.get(deadId)?.namespaces).toEqual([deadNs]);
    expect(listByPrefix(`ovt${deadId}`).namespaces).toEqual([]);
    expect(removed.has(runPrefix().slice(3))).toBe(false);
  });
});
