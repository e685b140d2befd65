/**
 * This agent's gossip node: creates the memberlist with the cluster sync as
 * its delegate, joins through --join (retrying while nobody answers), retries
 * dead members so healed partitions meet again, and leaves gracefully.
 */
import type { Logger } from 'pino';
import type { ClusterSync } from '../cluster/sync.js';
import { Memberlist, type NodeInfo } from '../gossip/index.js';
import type { AgentConfig } from './config.js';

export class ClusterMembership {
  /** The memberlist, once started. */
  node?: Memberlist;
  private joinTimer?: NodeJS.Timeout;

  constructor(
    private readonly config: AgentConfig,
    private readonly log: Logger,
    private readonly sync: ClusterSync,
  ) {}

  async start(): Promise<void> {
    const c = this.config;
    this.node = await Memberlist.create(
      {
        name: c.name,
        bindAddr: c.listenAddr,
        bindPort: c.gossipPort,
        advertiseAddr: c.advertiseAddr,
        advertisePort: c.gossipPort,
        secretKey: c.gossipKey,
        log: (level, message) => this.log[level]({ component: 'gossip' }, message),
      },
      { delegate: this.sync, events: this.sync },
    );
    this.sync.attach(this.node);
    this.node.on('join', (n: NodeInfo) => this.log.info({ node: n.name, addr: n.addr }, 'member joined'));
    this.node.on('leave', (n: NodeInfo) => this.log.info({ node: n.name, state: n.state }, 'member left or failed'));
    if (c.join.length > 0) await this.joinCluster(1000);
  }

  /** Stops joining, leaves the cluster gracefully (peers see this node as left) and shuts gossip down. */
  async stop(): Promise<void> {
    clearTimeout(this.joinTimer);
    if (this.node) {
      await this.node.leave(2000).catch((err: Error) => this.log.warn({ err: err.message }, 'graceful leave failed'));
      await this.node.shutdown();
    }
  }

  /** Joins through --join; keeps retrying with backoff while nobody answers, as an operator expects. */
  private async joinCluster(retryMs: number): Promise<void> {
    const joined = await this.node!.join(this.config.join).catch((err: Error) => {
      this.log.warn({ join: this.config.join, err: err.message }, 'join failed; retrying');
      return 0;
    });
    if (joined > 0) {
      this.log.info({ contacted: joined, members: this.node!.numMembers() }, 'joined the cluster');
      return;
    }
    this.joinTimer = setTimeout(() => void this.joinCluster(Math.min(retryMs * 2, 30_000)), retryMs);
    this.joinTimer.unref();
  }

  /** A push/pull with each dead member: if it is up again (a healed partition), both sides learn it. */
  reconnectDead(): void {
    for (const n of this.node?.members() ?? []) {
      if (n.state !== 'dead') continue;
      const addr = n.addr.includes(':') ? `[${n.addr}]:${n.port}` : `${n.addr}:${n.port}`;
      this.node!.pushPullWith(addr).catch(() => undefined); // still unreachable: try again next round
    }
  }
}
