/**
 * Drives the Go memberlist test peer (src/testkit/go-peer): spawns it, parses
 * its JSON lines, sends it commands, and always kills it at the end.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { buildGo } from './go.js';

/** One JSON line printed by the Go peer. */
export interface GoEvent {
  event: string;
  t: number;
  [key: string]: unknown;
}

/** A member as the Go peer lists it. */
export interface GoMember {
  name: string;
  addr: string;
  port: number;
  state: 'alive' | 'suspect' | 'dead' | 'left' | 'unknown';
  incarnation: number;
}

const PEER_DIR = join(dirname(fileURLToPath(import.meta.url)), 'go-peer');

/** Builds the peer binary (cached per run); null when Go or memberlist is missing. */
export function buildGoPeer(): Promise<string | null> {
  return buildGo(PEER_DIR);
}

/** A running Go memberlist node. */
export class GoPeer {
  readonly events: GoEvent[] = [];
  port = 0;
  private waiters: Array<{ match: (e: GoEvent) => boolean; resolve: (e: GoEvent) => void }> = [];
  private exited = false;

  private constructor(readonly name: string, private readonly proc: ChildProcessWithoutNullStreams) {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let e: GoEvent;
      try {
        e = JSON.parse(line) as GoEvent;
      } catch {
        return;
      }
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(e)) return true;
        w.resolve(e);
        return false;
      });
    });
    proc.stderr.on('data', (d: Buffer) => { if (process.env.GO_PEER_VERBOSE) process.stderr.write(d); });
    proc.on('exit', () => { this.exited = true; });
  }

  /** Starts a peer; resolves once it printed "ready". `args` are extra flags. */
  static async start(binary: string, name: string, args: string[] = []): Promise<GoPeer> {
    const proc = spawn(binary, ['-name', name, '-bind', '127.0.0.1', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const peer = new GoPeer(name, proc);
    const ready = await peer.waitFor((e) => e.event === 'ready' || e.event === 'error', 20_000);
    if (ready.event === 'error') throw new Error(`go peer ${name}: ${String(ready.error)}`);
    peer.port = Number(ready.port);
    return peer;
  }

  /** `127.0.0.1:port` of this peer. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Resolves with the first event (past or future) matching `match`. */
  waitFor(match: (e: GoEvent) => boolean, timeoutMs = 30_000, includePast = true): Promise<GoEvent> {
    if (includePast) {
      const past = this.events.find(match);
      if (past) return Promise.resolve(past);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`go peer ${this.name}: timed out waiting for event`)), timeoutMs);
      this.waiters.push({ match, resolve: (e) => { clearTimeout(timer); resolve(e); } });
    });
  }

  /** Sends a command line. */
  command(line: string): void {
    if (!this.exited) this.proc.stdin.write(`${line}\n`);
  }

  /** The peer's member table, dead and left nodes included. */
  async members(): Promise<GoMember[]> {
    const since = Date.now();
    this.command('members');
    const e = await this.waitFor((ev) => ev.event === 'members' && ev.t >= since - 5, 10_000, false);
    return (e.members as GoMember[] | null) ?? [];
  }

  /** Polls the member table until `check` holds (or throws after `timeoutMs`). */
  async until(check: (members: GoMember[]) => boolean, timeoutMs = 30_000): Promise<GoMember[]> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.members();
      if (check(m)) return m;
      if (Date.now() > end) throw new Error(`go peer ${this.name}: condition not met; members ${JSON.stringify(m)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Graceful leave (the peer exits afterwards). */
  async leave(): Promise<void> {
    this.command('leave');
    await this.waitFor((e) => e.event === 'left', 15_000);
    await this.exit();
  }

  /** kill -9: the node vanishes without a word. */
  async kill(): Promise<void> {
    if (!this.exited) this.proc.kill('SIGKILL');
    await this.exit();
  }

  private exit(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => this.proc.once('exit', () => resolve()));
  }
}
