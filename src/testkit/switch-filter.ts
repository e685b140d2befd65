/**
 * Impairments on the underlay switch: nftables rules in the switch
 * namespace's bridge forward hook, matched on bridge ports, so they apply to
 * every frame between hosts (IPv4, IPv6, ARP) and never to anything else.
 *
 *     table bridge ovt { chain forward { type filter hook forward priority 0; … } }
 *     rule: iifname { from ports } oifname { to ports } numgen random mod 100 < P counter drop
 */
import { HarnessError } from './errors.js';
import { nsExec } from './exec.js';

/** Which frames a drop rule applies to. */
export interface DropRuleOptions {
  /** Share of matching frames dropped, 0–100 (100: all). */
  percent: number;
  /** Hosts (1-based) whose outgoing frames match; default all. */
  from?: readonly number[];
  /** Hosts (1-based) whose incoming frames match; default all. */
  to?: readonly number[];
}

/** An installed rule (or pair of rules); `remove()` lifts it. */
export interface SwitchRule {
  /** Frames the rule has dropped so far. */
  dropped(): Promise<number>;
  /** Deletes the rule. Idempotent. */
  remove(): Promise<void>;
}

const TABLE = 'ovt';
const CHAIN = 'forward';

interface NftRule {
  handle: number;
  expr: Array<{ counter?: { packets: number } }>;
}

/** The nftables filter of one switch namespace. */
export class SwitchFilter {
  private tableReady: Promise<void> | undefined;

  /**
   * @param ns the switch namespace
   * @param portOf maps a host index to its bridge port name
   */
  constructor(
    private readonly ns: string,
    private readonly portOf: (host: number) => string,
  ) {}

  /** Drops `percent`% of frames from hosts `from` to hosts `to`. */
  async drop(opts: DropRuleOptions): Promise<SwitchRule> {
    if (!(opts.percent >= 0 && opts.percent <= 100)) {
      throw new HarnessError('BAD_ARGUMENT', `drop percent ${opts.percent} is not within 0–100`);
    }
    await this.ensureTable();
    const match: string[] = [];
    if (opts.from) match.push('iifname', this.portSet(opts.from));
    if (opts.to) match.push('oifname', this.portSet(opts.to));
    if (opts.percent < 100) match.push('numgen', 'random', 'mod', '100', '<', String(opts.percent));
    const { stdout } = await nsExec(this.ns, ['nft', '--echo', '--handle', 'add', 'rule', 'bridge', TABLE, CHAIN, ...match, 'counter', 'drop']);
    const handle = /# handle (\d+)/.exec(stdout)?.[1];
    if (handle === undefined) throw new HarnessError('COMMAND_FAILED', `nft did not report the rule handle: ${stdout}`);
    return this.ruleHandle([Number(handle)]);
  }

  /** Drops every frame between host sets `a` and `b`, both directions, until removed (heal). */
  async partition(a: readonly number[], b: readonly number[]): Promise<SwitchRule> {
    const ab = await this.drop({ percent: 100, from: a, to: b });
    const ba = await this.drop({ percent: 100, from: b, to: a });
    return {
      dropped: async () => (await ab.dropped()) + (await ba.dropped()),
      remove: async () => {
        await ab.remove();
        await ba.remove();
      },
    };
  }

  private ruleHandle(handles: number[]): SwitchRule {
    let removed = false;
    return {
      dropped: async () => {
        const rules = await this.listRules();
        return rules.filter((r) => handles.includes(r.handle)).reduce((sum, r) => sum + packetsOf(r), 0);
      },
      remove: async () => {
        if (removed) return;
        removed = true;
        for (const h of handles) {
          await nsExec(this.ns, ['nft', 'delete', 'rule', 'bridge', TABLE, CHAIN, 'handle', String(h)]);
        }
      },
    };
  }

  private portSet(hosts: readonly number[]): string {
    if (hosts.length === 0) throw new HarnessError('BAD_ARGUMENT', 'a drop rule needs at least one host per side');
    return `{ ${hosts.map((h) => `"${this.portOf(h)}"`).join(', ')} }`;
  }

  private ensureTable(): Promise<void> {
    this.tableReady ??= nsExec(this.ns, ['nft', '-f', '-'], {
      input: `table bridge ${TABLE} {\n  chain ${CHAIN} {\n    type filter hook forward priority 0; policy accept;\n  }\n}\n`,
    }).then(() => undefined);
    return this.tableReady;
  }

  private async listRules(): Promise<NftRule[]> {
    const { stdout } = await nsExec(this.ns, ['nft', '-j', 'list', 'chain', 'bridge', TABLE, CHAIN]);
    const parsed = JSON.parse(stdout) as { nftables: Array<{ rule?: NftRule }> };
    return parsed.nftables.flatMap((entry) => (entry.rule ? [entry.rule] : []));
  }
}

function packetsOf(rule: NftRule): number {
  return rule.expr.reduce((sum, e) => sum + (e.counter?.packets ?? 0), 0);
}
