/**
 * The text of `iptables-save` / `ip6tables-save` (legacy iptables: its rules
 * are not in nftables) into the firewall model of doctor-firewall.ts.
 * Understood: `-p`, `-s`, `-d`, `-i`, `-o` (with `!`), `--dport`/`--sport`
 * (`-m udp`/`-m tcp`), `--dports`/`--sports` (`-m multiport`), `-j`/`-g`
 * with ACCEPT, DROP, REJECT, RETURN or a chain. Any other match module
 * (`-m conntrack`, `-m mark`, …) answers `maybe`.
 */
import { parseIp, prefixContains } from '../wire/index.js';
import { ifnameMatches, not, overPeers, PROTOCOL_NUMBERS, undecidable, type FirewallFlow, type FwChain, type FwCond, type FwRule, type FwRuleset, type FwVerdict, type Hook, type Tri } from './doctor-firewall.js';

const BUILTIN_HOOKS: Record<string, Hook> = { PREROUTING: 'prerouting', INPUT: 'input', FORWARD: 'forward', OUTPUT: 'output', POSTROUTING: 'postrouting' };
/** Match modules whose options this parser reads itself. */
const KNOWN_MODULES = new Set(['udp', 'tcp', 'multiport', 'comment']);

/** `tool`: the command that changes these rules (`iptables-legacy`, `ip6tables`), for the hints. */
export function parseIptablesSave(text: string, family: 4 | 6, tool: string): FwRuleset {
  const chains = new Map<string, FwChain>();
  let table = '';
  const counts = new Map<string, number>();
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line.startsWith('*')) table = line.slice(1);
    const head = /^:(\S+) (\S+)/.exec(line);
    if (head) chains.set(`${table} ${head[1]}`, newChain(tool, family, table, head[1], head[2]));
    if (!line.startsWith('-A ')) continue;
    const words = tokenize(line);
    const chain = chains.get(`${table} ${words[1]}`);
    if (!chain) continue;
    const n = (counts.get(chain.key) ?? 0) + 1;
    counts.set(chain.key, n);
    chain.rules.push(parseRule(words.slice(2), (name) => chains.has(`${table} ${name}`), `${tool} -t ${table} ${words[1]} rule ${n}`, `${tool} -t ${table} -D ${words[1]} ${n}`));
  }
  return { source: tool, chains: [...chains.values()], target: (from, name) => chains.get(`${from.key.split(' ')[1]} ${name}`) };
}

function newChain(tool: string, family: 4 | 6, table: string, name: string, policy: string): FwChain {
  return {
    key: `${tool} ${table} ${name}`,
    name: `${tool} -t ${table} ${name}`,
    hook: BUILTIN_HOOKS[name],
    families: [family],
    policy: policy === 'DROP' ? 'drop' : policy === 'ACCEPT' ? 'accept' : undefined,
    rules: [],
    allow: (flow) => `${tool} -t ${table} -I ${name} ${flow.proto === 'esp' ? '-p esp' : `-p ${flow.proto} --dport ${flow.dport}`} -j ACCEPT`,
  };
}

/** Words of a rule line; quoted arguments (comments) stay one word. */
function tokenize(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

/** `isChain`: whether a target names a chain of the table (else it is a built-in target). */
function parseRule(words: string[], isChain: (name: string) => boolean, where: string, remove: string): FwRule {
  const conds: FwCond[] = [];
  let verdict: FwVerdict | undefined;
  let negate = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const arg = words[i + 1] ?? '';
    if (w === '!') {
      negate = true;
      continue;
    }
    const cond = optionCond(w, arg);
    if (cond) {
      conds.push(negate ? { what: `! ${cond.what}`, test: (f) => not(cond.test(f)) } : cond);
      i++;
    } else if (w === '-m') {
      if (!KNOWN_MODULES.has(arg)) conds.push(undecidable(`-m ${arg}`));
      i++;
    } else if (w === '-j' || w === '-g') {
      verdict = targetVerdict(w, arg, isChain(arg));
      i++;
    }
    negate = false;
  }
  return { where, conds, verdict, remove };
}

function targetVerdict(flag: string, target: string, chain: boolean): FwVerdict | undefined {
  if (chain) return { kind: flag === '-g' ? 'goto' : 'jump', target };
  if (target === 'ACCEPT') return { kind: 'accept' };
  if (target === 'DROP') return { kind: 'drop' };
  if (target === 'REJECT') return { kind: 'reject' };
  if (target === 'RETURN') return { kind: 'return' };
  return undefined; // LOG, MARK, CT, …: no verdict
}

/** The condition of one option with its argument, or undefined for an option that is not a condition. */
function optionCond(opt: string, arg: string): FwCond | undefined {
  const what = `${opt} ${arg}`;
  if (opt === '-p') {
    const want = PROTOCOL_NUMBERS[arg] ?? Number(arg);
    return { what, test: (f) => (arg === 'all' || PROTOCOL_NUMBERS[f.proto] === want ? 'yes' : 'no') };
  }
  if (opt === '-s' || opt === '-d') return { what, test: (f) => addressTest(f, opt === '-s', arg.split(',')) };
  if (opt === '-i' || opt === '-o') return { what, test: (f) => ((opt === '-i') === (f.direction === 'in') ? (ifnameMatches(arg, f.ifname) ? 'yes' : 'no') : 'maybe') };
  if (opt === '--dport' || opt === '--dports' || opt === '--sport' || opt === '--sports') {
    const ranges = arg.split(',').map((p) => p.split(':').map(Number));
    return {
      what,
      test: (f) => {
        const port = opt.startsWith('--d') ? f.dport : f.sport;
        if (f.proto === 'esp') return 'no';
        if (port === undefined) return 'maybe';
        return ranges.some(([lo, hi]) => lo <= port && port <= (hi ?? lo)) ? 'yes' : 'no';
      },
    };
  }
  return undefined;
}

function addressTest(flow: FirewallFlow, source: boolean, prefixes: string[]): Tri {
  const inside = (addr: string): boolean => prefixes.some((p) => prefixContains(p, parseIp(addr)));
  const remote = source === (flow.direction === 'in');
  return remote ? overPeers(flow.remotes, inside) : inside(flow.local) ? 'yes' : 'no';
}
