/**
 * The queue of removals kept while the agent is down (src/docker-plugin/cleanups.ts),
 * with a fake agent: persistence across a restart, deduplication, the bound,
 * replay in order (on demand and by the retry timer), idempotence, what a
 * refusal does, and a pending release cancelled by its address being handed
 * out again. The plugin-level behaviour is in plugin.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLEANUPS_FILE, PendingCleanups, type Cleanup } from '../../src/docker-plugin/cleanups.js';
import { PluginError } from '../../src/docker-plugin/server.js';

const log = { error: () => undefined, warn: () => undefined, info: () => undefined };
const ep = (container: string): Cleanup => ({ kind: 'endpoint', container });
const addr = (ip: string): Cleanup => ({ kind: 'address', subnet: '198.19.70.0/24', ip });
const net = (network: string): Cleanup => ({ kind: 'network', network });

/** An agent that is up or down, and remembers what it removed (each thing once: removing it again is a no-op). */
class FakeAgent {
  up = false;
  readonly done: Cleanup[] = [];
  readonly calls: Cleanup[] = [];
  refuse?: (c: Cleanup) => boolean;
  run = async (c: Cleanup): Promise<void> => {
    this.calls.push(c);
    if (!this.up) throw new PluginError('AGENT_DOWN', 'overlayd agent is not running (no answer on /x.sock); start overlayd and retry');
    if (this.refuse?.(c)) throw new Error('refused');
    if (!this.done.some((d) => JSON.stringify(d) === JSON.stringify(c))) this.done.push(c);
  };
}

describe('PendingCleanups', () => {
  const dirs: string[] = [];
  const queues: PendingCleanups[] = [];
  const make = (agent: FakeAgent, dir = mkdtempSync(join(tmpdir(), 'ovt-cleanups-')), more: { max?: number; retryFirstMs?: number } = {}) => {
    dirs.push(dir);
    const q = new PendingCleanups({ stateDir: dir, run: (c) => agent.run(c), log, retryFirstMs: more.retryFirstMs ?? 60_000, retryMaxMs: 60_000, max: more.max });
    queues.push(q);
    return { q, dir };
  };
  afterEach(() => {
    for (const q of queues.splice(0)) q.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('runs a removal at once while the agent answers, and keeps nothing', async () => {
    const agent = Object.assign(new FakeAgent(), { up: true });
    const { q } = make(agent);
    await q.remove(ep('a'));
    expect(agent.done).toEqual([ep('a')]);
    expect(q.pending).toEqual([]);
  });

  it('keeps removals while the agent is down, once each, in order, in the state folder; a restarted queue has them', async () => {
    const agent = new FakeAgent();
    const { q, dir } = make(agent);
    for (const c of [ep('a'), addr('198.19.70.5'), ep('a'), net('blue'), addr('198.19.70.5')]) await q.remove(c);
    expect(q.pending).toEqual([ep('a'), addr('198.19.70.5'), net('blue')]);
    const file = JSON.parse(readFileSync(join(dir, CLEANUPS_FILE), 'utf8'));
    expect(file).toEqual({ version: 1, pending: [ep('a'), addr('198.19.70.5'), net('blue')] });
    q.close();
    const again = make(agent, dir).q;
    expect(again.pending).toEqual([ep('a'), addr('198.19.70.5'), net('blue')]);
  });

  it('replays in the order they came, before a new removal, and empties the file', async () => {
    const agent = new FakeAgent();
    const { q, dir } = make(agent);
    for (const c of [ep('a'), addr('198.19.70.5'), net('blue')]) await q.remove(c);
    agent.up = true;
    await q.remove(ep('b'));
    expect(agent.done).toEqual([ep('a'), addr('198.19.70.5'), net('blue'), ep('b')]);
    expect(q.pending).toEqual([]);
    expect(JSON.parse(readFileSync(join(dir, CLEANUPS_FILE), 'utf8')).pending).toEqual([]);
  });

  it('a new removal waits behind those kept: while they cannot be delivered, it is kept after them', async () => {
    const agent = new FakeAgent();
    const { q } = make(agent);
    await q.remove(ep('a'));
    // The agent answers only for b: b must still not overtake a.
    agent.run = async (c) => {
      if (c.kind === 'endpoint' && c.container === 'b') agent.done.push(c);
      else throw new PluginError('AGENT_DOWN', 'down');
    };
    await q.remove(ep('b'));
    expect(agent.done).toEqual([]);
    expect(q.pending).toEqual([ep('a'), ep('b')]);
  });

  it('stops at the first that cannot be delivered and goes on from there next time; replaying twice is harmless', async () => {
    const agent = new FakeAgent();
    const { q } = make(agent);
    for (const c of [ep('a'), ep('b'), ep('c')]) await q.remove(c);
    agent.up = true;
    agent.calls.length = 0;
    const run = agent.run;
    let n = 0;
    agent.run = async (c) => {
      if (++n === 2) throw new PluginError('AGENT_DOWN', 'down again');
      return run(c);
    };
    expect(await q.settle()).toBeInstanceOf(PluginError);
    expect(q.pending).toEqual([ep('b'), ep('c')]);
    agent.run = run;
    await Promise.all([q.replay(), q.replay(), q.settle()]);
    expect(agent.done).toEqual([ep('a'), ep('b'), ep('c')]);
    expect(agent.calls).toEqual([ep('a'), ep('b'), ep('c')]); // the three replays asked at once shared one pass
    await q.replay();
    expect(q.pending).toEqual([]);
  });

  it('drops one the agent refuses (it answered: retrying would not help) and delivers the rest', async () => {
    const agent = new FakeAgent();
    const { q } = make(agent);
    for (const c of [ep('a'), net('blue'), ep('c')]) await q.remove(c);
    agent.up = true;
    agent.refuse = (c) => c.kind === 'network';
    await q.replay();
    expect(agent.done).toEqual([ep('a'), ep('c')]);
    expect(q.pending).toEqual([]);
  });

  it('the retry timer delivers them once the agent is back, with no call from dockerd', async () => {
    const agent = new FakeAgent();
    const { q } = make(agent, undefined, { retryFirstMs: 20 });
    await q.remove(ep('a'));
    await new Promise((r) => setTimeout(r, 100));
    const triesWhileDown = agent.calls.length;
    expect(triesWhileDown).toBeGreaterThan(1); // retried, with backoff (20, 40, 80 ms …)
    expect(triesWhileDown).toBeLessThan(6);
    agent.up = true;
    const until = Date.now() + 3000;
    while (q.pending.length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(agent.done).toEqual([ep('a')]);
  });

  it('is bounded: beyond the bound a removal is refused with the agent line (dockerd logs it), those kept stay', async () => {
    const agent = new FakeAgent();
    const { q } = make(agent, undefined, { max: 2 });
    await q.remove(ep('a'));
    await q.remove(ep('b'));
    await q.remove(ep('a')); // a duplicate is no new entry
    await expect(q.remove(ep('c'))).rejects.toThrow(/overlayd agent is not running .* \(2 removals already wait for it; this one is not kept\)/);
    expect(q.pending).toEqual([ep('a'), ep('b')]);
  });

  it('an address handed out again cancels its pending release, so the replay cannot take the new holder\'s address', async () => {
    const agent = new FakeAgent();
    const { q, dir } = make(agent);
    await q.remove(ep('old'));
    await q.remove(addr('198.19.70.5'));
    expect(q.cancel(addr('198.19.70.5'))).toBe(true); // RequestAddress gave .5 to a new container meanwhile
    expect(q.cancel(addr('198.19.70.5'))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, CLEANUPS_FILE), 'utf8')).pending).toEqual([ep('old')]);
    agent.up = true;
    await q.replay();
    expect(agent.calls.some((c) => c.kind === 'address')).toBe(false);
    expect(agent.done).toEqual([ep('old')]);
  });

  it('refuses a state file it does not understand instead of losing it', () => {
    const { dir } = make(new FakeAgent());
    const file = join(dir, CLEANUPS_FILE);
    writeFileSync(file, JSON.stringify({ version: 9, pending: [] }));
    expect(() => new PendingCleanups({ stateDir: dir, run: async () => undefined, log })).toThrow(/unknown format \(version 9\)/);
    writeFileSync(file, '{');
    expect(() => new PendingCleanups({ stateDir: dir, run: async () => undefined, log })).toThrow(/not valid JSON/);
  });
});
