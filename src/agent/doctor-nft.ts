/**
 * `nft -j list ruleset` into the firewall model of doctor-firewall.ts. It
 * covers nftables and iptables-nft (whose rules live in nftables too; an
 * `xt` match they carry is opaque JSON, so it answers `maybe`). Understood:
 * ports (`udp`/`tcp`/`th` `dport`/`sport`: values, ranges, anonymous and
 * named sets), the transport protocol (`meta l4proto`, `ip protocol`, `ip6
 * nexthdr`), addresses (`ip`/`ip6` `saddr`/`daddr`, prefixes), interface
 * names and `meta nfproto`; verdict maps on those keys; accept, drop,
 * reject, jump, goto, return. Everything else is undecidable.
 */
import { parseIp, prefixContains } from '../wire/index.js';
import {
  ifnameMatches,
  not,
  overPeers,
  PROTOCOL_NUMBERS,
  undecidable,
  type FirewallFlow,
  type FwChain,
  type FwCond,
  type FwRule,
  type FwRuleset,
  type FwVerdict,
  type Hook,
  type Tri,
} from './doctor-firewall.js';

type Json = Record<string, unknown>;
type Value = unknown;

interface Ctx {
  family: string;
  table: string;
  /** Named sets of the ruleset: `family table name` → elements. */
  sets: Map<string, Value[] | undefined>;
}

const FAMILIES: Record<string, (4 | 6)[]> = { ip: [4], ip6: [6], inet: [4, 6], netdev: [4, 6] };
const VERDICTS = ['accept', 'drop', 'reject', 'return', 'jump', 'goto'] as const;

/** The model of an `nft -j list ruleset` document; chains of families that do not carry the agent's packets (arp, bridge) are left out. */
export function parseNftRuleset(doc: unknown): FwRuleset {
  const items = ((doc as { nftables?: Json[] })?.nftables ?? []).filter((x) => typeof x === 'object' && x !== null);
  const sets = new Map<string, Value[] | undefined>();
  for (const { set } of items as { set?: Json }[]) if (set) sets.set(`${set.family} ${set.table} ${set.name}`, set.elem as Value[] | undefined);
  const chains = new Map<string, FwChain>();
  for (const { chain: c } of items as { chain?: Json }[]) {
    if (!c || !FAMILIES[String(c.family)]) continue;
    const name = `${c.family} ${c.table} ${c.name}`;
    chains.set(name, {
      key: name,
      name,
      hook: c.hook as Hook | undefined,
      devices: c.dev === undefined ? undefined : ([] as unknown[]).concat(c.dev).map(String),
      families: FAMILIES[String(c.family)],
      policy: c.policy === 'drop' ? 'drop' : c.hook ? 'accept' : undefined,
      rules: [],
      allow: (flow) => `nft insert rule ${name} ${flowMatch(flow)} accept`,
    });
  }
  for (const { rule: r } of items as { rule?: Json }[]) {
    const chain = r && chains.get(`${r.family} ${r.table} ${r.chain}`);
    if (!chain) continue;
    chain.rules.push(...parseRule(r!, { family: String(r!.family), table: String(r!.table), sets }));
  }
  return { source: 'nftables', chains: [...chains.values()], target: (from, t) => chains.get(`${from.key.split(' ').slice(0, 2).join(' ')} ${t}`) };
}

/** One rule; a verdict map becomes one rule per element (they are disjoint, so the order does not matter). */
function parseRule(r: Json, ctx: Ctx): FwRule[] {
  const where = `nft ${r.family} ${r.table} ${r.chain} handle ${r.handle}`;
  const remove = `nft delete rule ${r.family} ${r.table} ${r.chain} handle ${r.handle}`;
  const conds: FwCond[] = [];
  let verdict: FwVerdict | undefined;
  let vmap: Json | undefined;
  for (const e of (r.expr as Json[] | undefined) ?? []) {
    const [kind, body] = Object.entries(e)[0] ?? [];
    if (kind === 'match') conds.push(matchCond(body as Json, ctx));
    else if (kind === 'vmap') vmap = body as Json;
    else if ((VERDICTS as readonly string[]).includes(kind)) verdict = toVerdict(kind, body);
    else if (kind === 'xt') {
      const xt = body as { type?: string; name?: string };
      if (xt.type === 'target' && xt.name === 'REJECT') verdict = { kind: 'reject' };
      else if (xt.type === 'match') conds.push(undecidable(`xt match ${xt.name}`));
    } else if (kind === 'limit' || kind === 'quota') conds.push(undecidable(kind));
  }
  if (!vmap) return [{ where, conds, verdict, remove }];
  const key = vmap.key as Json;
  const elems = ((vmap.data as Json)?.set as [Value, Json][] | undefined) ?? [];
  return elems.map(([value, v]) => {
    const [kind, body] = Object.entries(v)[0] ?? [];
    return { where, conds: [...conds, matchCond({ op: '==', left: key, right: value }, ctx)], verdict: toVerdict(String(kind), body), remove };
  });
}

function toVerdict(kind: string, body: unknown): FwVerdict | undefined {
  if (kind === 'jump' || kind === 'goto') return { kind, target: String((body as { target?: string })?.target) };
  if (kind === 'accept' || kind === 'drop' || kind === 'reject' || kind === 'return') return { kind };
  return undefined;
}

/** A `match` expression: a left side this model knows, compared with the right. */
function matchCond(m: Json, ctx: Ctx): FwCond {
  const op = String(m.op ?? '==');
  const left = m.left as Json;
  const what = `${describe(left)} ${op === '==' ? '' : `${op} `}${describe(m.right)}`;
  const value = leftValue(left);
  if (!value || !['==', '!=', 'in'].includes(op)) {
    // Still, a header the packet does not have never matches (`tcp flags …` on UDP, `ip6 …` on IPv4).
    const has = headerPresent(left);
    return has ? { what, test: (flow) => (has(flow) ? 'maybe' : 'no') } : undecidable(what);
  }
  return {
    what,
    // `!=` negates the comparison only: a packet without the field (a TCP packet for `udp dport`) never matches.
    test: (flow) =>
      value(flow, (v, kind) => {
        const t = contains(m.right, v, kind, ctx);
        return op === '!=' ? not(t) : t;
      }),
  };
}

/** For a payload field of a header that depends on the protocol: whether the flow's packets have that header. */
function headerPresent(left: Json): ((flow: FirewallFlow) => boolean) | undefined {
  const proto = (left?.payload as { protocol?: string } | undefined)?.protocol;
  if (proto === 'tcp' || proto === 'udp') return (flow) => flow.proto === proto;
  if (proto === 'ip' || proto === 'ip6') return (flow) => flow.family === (proto === 'ip' ? 4 : 6);
  return undefined;
}

type Kind = 'port' | 'proto' | 'addr' | 'name' | 'nfproto';
/** Answers for the flow whether the right side holds its value (or values: one per peer for addresses). */
type LeftValue = (flow: FirewallFlow, has: (v: number | string, kind: Kind) => Tri) => Tri;

function leftValue(left: Json): LeftValue | undefined {
  const payload = left?.payload as { protocol?: string; field?: string } | undefined;
  const meta = (left?.meta as { key?: string } | undefined)?.key;
  if (payload?.field === 'dport' || payload?.field === 'sport') {
    const proto = payload.protocol;
    return (flow, has) => {
      if (flow.proto === 'esp' || (proto !== 'th' && proto !== flow.proto)) return 'no';
      const port = payload.field === 'dport' ? flow.dport : flow.sport;
      return port === undefined ? 'maybe' : has(port, 'port');
    };
  }
  if ((payload?.protocol === 'ip' && payload.field === 'protocol') || (payload?.protocol === 'ip6' && payload.field === 'nexthdr') || meta === 'l4proto') {
    const only = payload?.protocol === 'ip' ? 4 : payload?.protocol === 'ip6' ? 6 : undefined;
    return (flow, has) => (only !== undefined && flow.family !== only ? 'no' : has(PROTOCOL_NUMBERS[flow.proto], 'proto'));
  }
  if ((payload?.protocol === 'ip' || payload?.protocol === 'ip6') && (payload.field === 'saddr' || payload.field === 'daddr')) {
    const family = payload.protocol === 'ip' ? 4 : 6;
    return (flow, has) => {
      if (flow.family !== family) return 'no';
      const remote = (payload.field === 'saddr') === (flow.direction === 'in');
      return remote ? overPeers(flow.remotes, (a) => has(a, 'addr') === 'yes') : has(flow.local, 'addr');
    };
  }
  if (meta === 'iifname' || meta === 'oifname') {
    const incoming = meta === 'iifname';
    return (flow, has) => (incoming === (flow.direction === 'in') ? has(flow.ifname, 'name') : 'maybe');
  }
  if (meta === 'nfproto') return (flow, has) => has(flow.family === 4 ? 'ipv4' : 'ipv6', 'nfproto');
  return undefined;
}

/** Whether `right` (a value, range, prefix, set or `@set`) holds `v`. */
function contains(right: Value, v: number | string, kind: Kind, ctx: Ctx): Tri {
  if (typeof right === 'string' && right.startsWith('@')) {
    const elems = ctx.sets.get(`${ctx.family} ${ctx.table} ${right.slice(1)}`);
    return elems === undefined ? 'maybe' : contains({ set: elems }, v, kind, ctx);
  }
  if (Array.isArray(right)) return contains({ set: right }, v, kind, ctx);
  if (typeof right === 'object' && right !== null) {
    const o = right as { set?: Value[]; range?: [Value, Value]; prefix?: { addr: string; len: number }; elem?: { val: Value } };
    if (o.set) return o.set.some((x) => contains(x, v, kind, ctx) === 'yes') ? 'yes' : o.set.some((x) => contains(x, v, kind, ctx) === 'maybe') ? 'maybe' : 'no';
    if (o.range && typeof v === 'number') return Number(o.range[0]) <= v && v <= Number(o.range[1]) ? 'yes' : 'no';
    if (o.prefix && kind === 'addr') return prefixContains(`${o.prefix.addr}/${o.prefix.len}`, parseIp(String(v))) ? 'yes' : 'no';
    if (o.elem) return contains(o.elem.val, v, kind, ctx);
    return 'maybe';
  }
  return scalarEquals(right, v, kind) ? 'yes' : 'no';
}

function scalarEquals(right: Value, v: number | string, kind: Kind): boolean {
  if (kind === 'proto') return (typeof right === 'string' ? PROTOCOL_NUMBERS[right] : right) === v;
  if (kind === 'addr') return typeof right === 'string' && prefixContains(right, parseIp(String(v)));
  if (kind === 'name') return typeof right === 'string' && ifnameMatches(right, String(v));
  return right === v;
}

/** The expression in nft's own words, roughly: `udp dport`, `ip saddr`, `meta l4proto`. */
function describe(x: Value): string {
  if (x === null || typeof x !== 'object') return String(x);
  const o = x as Json;
  if (o.payload) return `${(o.payload as Json).protocol} ${(o.payload as Json).field}`;
  if (o.meta) return `meta ${(o.meta as Json).key}`;
  if (o.ct) return `ct ${(o.ct as Json).key}`;
  if (o.set) return `{ ${(o.set as Value[]).map(describe).join(', ')} }`;
  if (o.range) return (o.range as Value[]).map(describe).join('-');
  if (o.prefix) return `${(o.prefix as Json).addr}/${(o.prefix as Json).len}`;
  return JSON.stringify(x);
}

/** The nft match that selects `flow`: `udp dport 4789`, `meta l4proto esp`. */
export function flowMatch(flow: FirewallFlow): string {
  return flow.proto === 'esp' ? 'meta l4proto esp' : `${flow.proto} dport ${flow.dport}`;
}
