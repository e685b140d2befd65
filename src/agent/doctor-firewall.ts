/**
 * Does a firewall rule on this host stop the agent's own traffic? A small
 * model of a ruleset (base chains on hooks, rules as conditions and a
 * verdict), filled from `nft -j list ruleset` (doctor-nft.ts) or
 * `iptables-save` of legacy iptables (doctor-iptables.ts), and a walk of one
 * flow — say "UDP to port 4789 arriving from the peers" — through it the way
 * netfilter would: every base chain of the flow's hooks, rules in order,
 * jumps followed, a chain's policy at its end.
 *
 * Conditions the model cannot decide (conntrack state, marks, xt matches,
 * rate limits) answer `maybe`: a drop behind one is reported as possible (a
 * warning), never as certain, and an accept behind one makes later drops
 * possible only. Only the agent's own network namespace is read, and only the
 * hooks its packets pass (prerouting, input, output, postrouting, netdev
 * ingress/egress): a `forward` rule never touches them.
 */

/** One kind of packet the agent sends or receives, in one direction. */
export interface FirewallFlow {
  /** What it is for people: `udp 4789 (data port)`. */
  label: string;
  direction: 'in' | 'out';
  family: 4 | 6;
  proto: 'udp' | 'tcp' | 'esp';
  /** The port the packet is addressed to (absent for ESP). */
  dport?: number;
  /** The source port when it is known (gossip over UDP: the gossip port), absent when it varies. */
  sport?: number;
  /** This host's underlay address. */
  local: string;
  /** The other hosts' underlay addresses (empty: not known). */
  remotes: string[];
  /** The underlay interface. */
  ifname: string;
}

export type Tri = 'yes' | 'no' | 'maybe';

/** One condition of a rule; `what` reads like the rule's own syntax. */
export interface FwCond {
  what: string;
  test(flow: FirewallFlow): Tri;
}

export type FwVerdict = { kind: 'accept' | 'drop' | 'reject' | 'return' } | { kind: 'jump' | 'goto'; target: string };

export interface FwRule {
  /** Where it is, for people: `nft inet fw input handle 2`, `iptables -t filter INPUT rule 3`. */
  where: string;
  conds: FwCond[];
  /** Absent for a rule that only counts, logs or marks. */
  verdict?: FwVerdict;
  /** The command that removes it. */
  remove: string;
}

export type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';

export interface FwChain {
  /** Unique within the ruleset (the jump targets' key). */
  key: string;
  /** For people: `inet fw input`, `iptables filter INPUT`. */
  name: string;
  /** Set on base chains. */
  hook?: Hook;
  /** Ingress/egress chains: the devices they are bound to (other devices' packets never pass them). */
  devices?: string[];
  /** Which address families the chain sees: 4, 6 or both. */
  families: (4 | 6)[];
  policy?: 'accept' | 'drop';
  rules: FwRule[];
  /** A command that lets `flow` through ahead of the rules (for a chain whose policy drops it). */
  allow(flow: FirewallFlow): string;
}

export interface FwRuleset {
  /** `nftables`, `iptables-legacy`, `ip6tables-legacy`. */
  source: string;
  chains: FwChain[];
  /** Jump targets: resolves a target name seen in chain `from` to its chain. */
  target(from: FwChain, name: string): FwChain | undefined;
}

/** A rule (or a chain's policy) that drops a flow. */
export interface FirewallFinding {
  flow: FirewallFlow;
  /** False when a condition on the way could not be decided. */
  certain: boolean;
  /** The rule that drops; absent when the chain's policy does. */
  rule?: FwRule;
  /** The base chain the flow entered, and the chains jumped to: `inet fw input → blocklist`. */
  path: string;
  chain: FwChain;
  /** What it reads like: `udp dport 4789 drop`, `policy drop`. */
  text: string;
  /** The command that lets the flow pass. */
  fix: string;
}

const HOOKS: Record<FirewallFlow['direction'], Hook[]> = {
  in: ['ingress', 'prerouting', 'input'],
  out: ['output', 'postrouting', 'egress'],
};

/** Jumps deeper than this are not followed (a loop, or a ruleset not worth modelling). */
const MAX_DEPTH = 16;

type Walk = { end: 'accept' | 'drop' | 'fallthrough'; certain: boolean; path: string; rule?: FwRule; chain?: FwChain };

/** Every rule or policy of `rs` that drops `flow`, certain or possible. */
export function findDrops(rs: FwRuleset, flow: FirewallFlow): FirewallFinding[] {
  const found: FirewallFinding[] = [];
  for (const chain of rs.chains) {
    if (!chain.hook || !HOOKS[flow.direction].includes(chain.hook) || !chain.families.includes(flow.family)) continue;
    if (chain.devices && !chain.devices.includes(flow.ifname)) continue;
    const w = walk(rs, chain, flow, chain.name, 0, found);
    if (w.end === 'drop') found.push(finding(flow, w, true));
    if (w.end === 'fallthrough' && chain.policy === 'drop') {
      found.push({ flow, certain: w.certain, path: chain.name, chain, text: 'policy drop', fix: chain.allow(flow) });
    }
  }
  return found;
}

function finding(flow: FirewallFlow, w: Walk, certain: boolean): FirewallFinding {
  return { flow, certain, rule: w.rule, path: w.path, chain: w.chain!, text: ruleText(w.rule!), fix: w.rule!.remove };
}

export function ruleText(rule: FwRule): string {
  const v = rule.verdict;
  const verdict = !v ? '' : 'target' in v ? `${v.kind} ${v.target}` : v.kind;
  return [...rule.conds.map((c) => c.what), verdict].filter((s) => s !== '').join(' ');
}

/**
 * Walks `chain` for `flow` as if it entered it: the end it meets for sure
 * (`certain` false once a rule that may have accepted it was passed);
 * possible drops on the way go to `maybe`.
 */
function walk(rs: FwRuleset, chain: FwChain, flow: FirewallFlow, path: string, depth: number, maybe: FirewallFinding[]): Walk {
  let certain = true;
  for (const rule of chain.rules) {
    const v = rule.verdict;
    const t = v ? all(rule.conds, flow) : 'no';
    if (!v || t === 'no') continue;
    const sure = certain && t === 'yes';
    const here: Walk = { end: 'drop', certain: false, path, rule, chain };
    if (v.kind === 'drop' || v.kind === 'reject') {
      if (sure) return { ...here, certain: true };
      maybe.push(finding(flow, here, false));
    } else if (v.kind === 'accept' || v.kind === 'return') {
      if (sure) return { end: v.kind === 'accept' ? 'accept' : 'fallthrough', certain: true, path };
      certain = false; // it may have left here: what follows is possible only
    } else if ('target' in v) {
      const sub = rs.target(chain, v.target);
      if (!sub || depth >= MAX_DEPTH) {
        certain = false;
        continue;
      }
      const w = walk(rs, sub, flow, `${path} → ${sub.name}`, depth + 1, maybe);
      if (sure && w.end !== 'fallthrough') return w;
      if (sure && v.kind === 'goto') return { end: 'fallthrough', certain: w.certain, path };
      if (!sure && w.end === 'drop') maybe.push(finding(flow, w, false));
      if (!sure && w.end === 'accept') certain = false;
      if (!w.certain) certain = false;
    }
  }
  return { end: 'fallthrough', certain, path };
}

/** The conjunction of a rule's conditions. */
export function all(conds: FwCond[], flow: FirewallFlow): Tri {
  let out: Tri = 'yes';
  for (const c of conds) {
    const t = c.test(flow);
    if (t === 'no') return 'no';
    if (t === 'maybe') out = 'maybe';
  }
  return out;
}

export const not = (t: Tri): Tri => (t === 'yes' ? 'no' : t === 'no' ? 'yes' : 'maybe');

/** Combines per-peer answers: every peer yes, none, or some. */
export function overPeers(remotes: string[], test: (addr: string) => boolean): Tri {
  if (remotes.length === 0) return 'maybe';
  const hits = remotes.filter(test).length;
  return hits === remotes.length ? 'yes' : hits === 0 ? 'no' : 'maybe';
}

/** A condition nobody here can decide (conntrack state, marks, modules). */
export const undecidable = (what: string): FwCond => ({ what, test: () => 'maybe' });

export const PROTOCOL_NUMBERS: Record<string, number> = { tcp: 6, udp: 17, esp: 50 };

/** Matches an interface name against a pattern with a trailing wildcard (`eth*` in nft, `eth+` in iptables). */
export function ifnameMatches(pattern: string, ifname: string): boolean {
  const wild = /[*+]$/.test(pattern);
  return wild ? ifname.startsWith(pattern.slice(0, -1)) : pattern === ifname;
}
