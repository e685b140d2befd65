/**
 * The metrics of drops, members, keys and events (issue 12), beside the
 * traffic counters of metrics.ts; read at scrape time:
 *
 *   overlayd_drops_total{network,reason}      drops; network "" for those of no network here (views.ts dropsByNetwork)
 *   overlayd_members{state}                   cluster members (this node included) by gossip state
 *   overlayd_key_age_seconds{network}         age of the sending key of each encrypted network
 *   overlayd_events_total{type}               events emitted into the event log, by type
 *   overlayd_drop_events_lost_total           drop samples the data path's queue lost (their drops went into `suppressed`)
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { EVENT_TYPES } from './events.js';
import type { Agent } from './agent.js';

const MEMBER_STATES = ['alive', 'suspect', 'dead', 'left'] as const;

/** Registers the metrics in `registry`; returns the function that refreshes them before a scrape. */
export function eventMetrics(agent: Agent, registry: Registry): () => void {
  // The _total ones are counters set from the data path's own counters before each scrape (reset, then inc).
  const registers = [registry];
  const drops = new Counter({ name: 'overlayd_drops_total', help: 'Frames and datagrams dropped, by network ("" none known here) and reason', labelNames: ['network', 'reason'], registers });
  const members = new Gauge({ name: 'overlayd_members', help: 'Cluster members by gossip state, this node included', labelNames: ['state'], registers });
  const keyAge = new Gauge({ name: 'overlayd_key_age_seconds', help: 'Age of the sending key of each encrypted network', labelNames: ['network'], registers });
  const lost = new Counter({ name: 'overlayd_drop_events_lost_total', help: 'Drop samples lost on the way to the agent (counted as suppressed)', registers });
  const events = new Counter({ name: 'overlayd_events_total', help: 'Events emitted into the event log, by type', labelNames: ['type'], registers });
  for (const type of EVENT_TYPES) events.inc({ type }, 0);
  agent.events.subscribe((e) => events.inc({ type: e.type }));
  return () => {
    drops.reset();
    for (const [network, byReason] of Object.entries(agent.dropsByNetwork())) {
      for (const [reason, n] of Object.entries(byReason)) drops.inc({ network, reason }, n);
    }
    const rows = agent.members();
    for (const state of MEMBER_STATES) members.set({ state }, rows.filter((m) => m.state === state).length);
    keyAge.reset();
    const now = Date.now();
    for (const net of agent.store.networks()) {
      const key = net.encryption?.keys.find((k) => k.tag === net.encryption!.sendTag);
      if (key) keyAge.set({ network: net.name }, Math.max(0, (now - key.created) / 1000));
    }
    lost.reset();
    lost.inc(agent.dropSamplesLost());
  };
}
