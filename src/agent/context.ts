/**
 * What the agent's parts share: the store, the data path, the config, the
 * log, and the networks brought up on this host. agent.ts builds one and
 * hands it to reconcile.ts, keys.ts, capture.ts and views.ts, so none of them
 * imports the Agent back.
 */
import type { Logger } from 'pino';
import type { OverlayStore } from '../cluster/store.js';
import type { NetworkEntry } from '../cluster/entries.js';
import type { Datapath } from '../dataplane/datapath.js';
import { ipFamily, parseCidr } from '../wire/index.js';
import type { AgentConfig } from './config.js';
import type { EventLog } from './events.js';

/** A network brought up on this host, and what its data-path tables hold. */
export interface UpNetwork {
  vni: number;
  id: string;
  /** Encrypted networks: the ring the data path holds (ringSignature). */
  ring?: string;
  fdb: Map<string, string>;
  neigh: Map<string, string>;
  /** Multicast networks: the group table the data path holds (group MAC → VTEPs, group-table.ts). */
  groups: Map<string, string[]>;
}

export interface AgentContext {
  readonly config: AgentConfig;
  readonly store: OverlayStore;
  readonly log: Logger;
  /** Set once Agent.start has created it. */
  datapath: Datapath;
  /** Networks up on this host, by name. */
  readonly up: Map<string, UpNetwork>;
  /** What happened, for `overlayctl events` (the parts emit their own types). */
  readonly events: EventLog;
  /** Records something the agent did on its own that an operator should know about (a `note` event and a log line). */
  note(message: string): void;
}

/** The addresses with the prefix length of their subnet (`10.0.0.2/24`). */
export function withPrefixes(net: NetworkEntry, ips: string[]): string[] {
  const cidrs = net.subnets.map(parseCidr);
  return ips.map((ip) => `${ip}/${cidrs.find((c) => c.family === ipFamily(ip))!.prefix}`);
}
