/**
 * Removals the agent could not take while it was down, kept until it can.
 *
 * dockerd does not retry a removal: libnetwork only logs a driver's error on
 * DeleteEndpoint ("driver error deleting endpoint …"), on ReleaseAddress
 * ("Failed to release ip address … on delete of endpoint …") and on
 * DeleteNetwork ("driver error deleting network …"), and forgets the
 * endpoint, address or network all the same. It honours only a
 * ForbiddenError, which a remote driver's answer never is (drivers/remote
 * turns every Err into a plain "remote: …" error). An error answered to those
 * calls is therefore read by nobody, and the endpoint, its address and the
 * overlay would stay in the agent for good. So the plugin takes the removal on
 * itself: it records it here, answers dockerd success, and replays it once the
 * agent answers again.
 *
 *   - kept in `<state dir>/docker-cleanups.json`, replaced atomically, so a
 *     plugin restart keeps them;
 *   - deduplicated by what they remove, and bounded (a removal beyond the
 *     bound is refused with the agent's line: dockerd logs it, as before);
 *   - replayed in the order they came (an endpoint before its address, both
 *     before its network), before any other call that needs the agent, and by
 *     a timer with backoff while any are pending;
 *   - each one idempotent (`run` treats gone as done); one the agent refuses
 *     for another reason is logged and dropped, as dockerd would have dropped
 *     its error.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { PluginError } from './server.js';
import { readJsonFile, writeJsonFile } from './state-file.js';

/** One removal dockerd asked for. */
export type Cleanup =
  /** DeleteEndpoint: this host's endpoint of Docker endpoint `container` (ids are never reused). */
  | { kind: 'endpoint'; container: string }
  /** ReleaseAddress: the address held for a Docker endpoint on the network of `subnet`. */
  | { kind: 'address'; subnet: string; ip: string }
  /** DeleteNetwork: overlayd network `network`, removed if nothing uses it any more when replayed. */
  | { kind: 'network'; network: string };

export const CLEANUPS_FILE = 'docker-cleanups.json';
const VERSION = 1;

export interface PendingCleanupsOptions {
  /** The plugin's state folder ({@link CLEANUPS_FILE} is kept there). */
  stateDir: string;
  /** Applies one removal; gone already is success; an unreachable agent throws AGENT_DOWN. */
  run: (c: Cleanup) => Promise<void>;
  log: Pick<Logger, 'error' | 'warn' | 'info'>;
  /** At most this many pending (default 1000: a thousand containers removed while the agent was down). */
  max?: number;
  /** First retry after this many ms, doubling up to `retryMaxMs` (defaults 250 and 2000: a retry while the agent is down costs one failed connect). */
  retryFirstMs?: number;
  retryMaxMs?: number;
}

/** What identifies a removal: a second one of the same thing is the same removal. */
export const cleanupKey = (c: Cleanup): string =>
  c.kind === 'endpoint' ? `endpoint ${c.container}` : c.kind === 'address' ? `address ${c.subnet} ${c.ip}` : `network ${c.network}`;

const isAgentDown = (err: unknown): boolean => err instanceof PluginError && err.code === 'AGENT_DOWN';

export class PendingCleanups {
  private entries: Cleanup[];
  private readonly file: string;
  private readonly max: number;
  private readonly retryFirstMs: number;
  private readonly retryMaxMs: number;
  private delay: number;
  private draining?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private closed = false;

  /** Loads what an earlier run left pending, and starts retrying it. */
  constructor(private readonly opts: PendingCleanupsOptions) {
    this.file = join(opts.stateDir, CLEANUPS_FILE);
    this.max = opts.max ?? 1000;
    this.retryFirstMs = opts.retryFirstMs ?? 250;
    this.retryMaxMs = opts.retryMaxMs ?? 2000;
    this.delay = this.retryFirstMs;
    const saved = readJsonFile<{ version: number; pending: Cleanup[] }>(this.file);
    if (saved && saved.version !== VERSION) throw new Error(`${this.file} has an unknown format (version ${saved.version})`);
    this.entries = saved?.pending ?? [];
    this.schedule();
  }

  /** The removals not delivered yet, oldest first. */
  get pending(): readonly Cleanup[] {
    return this.entries;
  }

  /**
   * Removes `c` now when nothing is pending and the agent answers; records it
   * when the agent is down (or others wait before it). Throws only the
   * agent's refusals, and AGENT_DOWN when the bound is reached.
   */
  async remove(c: Cleanup): Promise<void> {
    const down = await this.settle();
    if (down) return this.record(c, down); // after those that wait already, in order
    try {
      await this.opts.run(c);
    } catch (err) {
      if (!isAgentDown(err)) throw err;
      this.record(c, err as PluginError);
    }
  }

  /**
   * Replays what is pending, if anything; resolves with the agent's AGENT_DOWN
   * error when it did not answer (the timer goes on), else undefined.
   */
  async settle(): Promise<PluginError | undefined> {
    try {
      await this.replay();
      return undefined;
    } catch (err) {
      if (!isAgentDown(err)) throw err;
      return err as PluginError;
    }
  }

  /** Replays what is pending, in order; rejects with AGENT_DOWN if the agent stops answering on the way. */
  replay(): Promise<void> {
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  /**
   * Forgets a pending removal (and says whether there was one): the address
   * of a pending release was handed out again, so that release is the old
   * holder's and must not take the new one's.
   */
  cancel(c: Cleanup): boolean {
    const k = cleanupKey(c);
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => cleanupKey(e) !== k);
    if (this.entries.length === before) return false;
    this.save();
    return true;
  }

  /** Stops retrying (what is pending stays in the file). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private record(c: Cleanup, down: PluginError): void {
    const k = cleanupKey(c);
    if (this.entries.some((e) => cleanupKey(e) === k)) return;
    if (this.entries.length >= this.max) {
      this.opts.log.error({ cleanup: c, pending: this.entries.length }, 'too many removals pending for the agent; this one is not kept');
      throw new PluginError('AGENT_DOWN', `${down.message} (${this.entries.length} removals already wait for it; this one is not kept)`);
    }
    if (this.entries.length === 0) this.delay = this.retryFirstMs;
    this.entries.push(c);
    this.save();
    this.opts.log.warn({ cleanup: c, pending: this.entries.length }, 'agent not answering: removal kept for when it is back');
    this.schedule();
  }

  private async drain(): Promise<void> {
    let done = 0;
    while (this.entries.length > 0) {
      const c = this.entries[0];
      try {
        await this.opts.run(c);
        done++;
      } catch (err) {
        if (isAgentDown(err)) {
          this.schedule();
          throw err;
        }
        this.opts.log.error({ cleanup: c, err: (err as Error).message }, 'the agent refused a kept removal; dropped');
      }
      if (this.entries[0] === c) {
        this.entries.shift();
        this.save();
      }
    }
    if (done > 0) this.opts.log.info({ replayed: done }, 'kept removals delivered to the agent');
    this.delay = this.retryFirstMs;
  }

  /** Arms the retry timer (with the next backoff step) while anything is pending. */
  private schedule(): void {
    if (this.closed || this.timer || this.entries.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.replay().catch(() => undefined); // rescheduled by drain while the agent is down
    }, this.delay);
    this.timer.unref();
    this.delay = Math.min(this.delay * 2, this.retryMaxMs);
  }

  private save(): void {
    writeJsonFile(this.file, { version: VERSION, pending: this.entries });
  }
}
