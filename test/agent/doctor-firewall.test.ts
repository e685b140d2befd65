/**
 * The doctor's firewall model on real rulesets: `nft -j list ruleset` and
 * `iptables-legacy-save` output recorded from a namespace (fixtures/), and
 * rules made up to show what the walk cannot decide.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findDrops, type FirewallFlow } from '../../src/agent/doctor-firewall.js';
import { parseNftRuleset } from '../../src/agent/doctor-nft.js';
import { parseIptablesSave } from '../../src/agent/doctor-iptables.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

const base = { family: 4 as const, local: '198.18.0.1', remotes: ['198.18.0.2', '198.18.0.3'], ifname: 'eth0' };
const flow = (direction: 'in' | 'out', proto: FirewallFlow['proto'], dport?: number, sport?: number): FirewallFlow => ({ ...base, label: `${proto} ${dport}`, direction, proto, dport, sport });

/** What each finding says: where, certain or not, the rule's words. */
const summary = (found: ReturnType<typeof findDrops>) => found.map((f) => [f.rule?.where ?? `${f.path} policy`, f.certain, f.text, f.fix]);

/** An nft document of one table `t` with a base chain `in` on input and these rules (nft JSON expressions). */
function nftDoc(policy: string, ...rules: unknown[][]): unknown {
  return {
    nftables: [
      { table: { family: 'inet', name: 't', handle: 1 } },
      { chain: { family: 'inet', table: 't', name: 'in', handle: 1, type: 'filter', hook: 'input', prio: 0, policy } },
      ...rules.map((expr, i) => ({ rule: { family: 'inet', table: 't', chain: 'in', handle: 10 + i, expr } })),
    ],
  };
}
const udpDport = (right: unknown) => ({ match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right } });
const ctEstablished = { match: { op: 'in', left: { ct: { key: 'state' } }, right: 'established' } };

describe('nft -j list ruleset', () => {
  const rs = parseNftRuleset(JSON.parse(fixture('nft-ruleset.json')));

  it('finds the data port in a named set, behind an interface match that does not apply', () => {
    expect(summary(findDrops(rs, flow('in', 'udp', 4789)))).toEqual([['nft ip t in handle 5', true, 'udp dport @blocked drop', 'nft delete rule ip t in handle 5']]);
  });

  it('follows a jump: ESP dropped in the chain jumped to, the path named', () => {
    const [f] = findDrops(rs, flow('in', 'esp'));
    expect([f.rule?.where, f.certain, f.path, f.text]).toEqual(['nft ip t sub handle 11', true, 'ip t in → ip t sub', 'ip protocol esp drop']);
  });

  it('reads verdict maps: udp 7946 dropped by its element; tcp 7946 falls to the chain policy, and the fix lets it through', () => {
    expect(summary(findDrops(rs, flow('in', 'udp', 7946, 7946)))).toEqual([['nft ip t in handle 8', true, 'udp dport 7946 drop', 'nft delete rule ip t in handle 8']]);
    expect(summary(findDrops(rs, flow('in', 'tcp', 7946)))).toEqual([['ip t in policy', true, 'policy drop', 'nft insert rule ip t in tcp dport 7946 accept']]);
  });

  it('leaves other hooks and families alone: nothing drops outgoing traffic, nothing an IPv6 flow', () => {
    expect(findDrops(rs, flow('out', 'udp', 4789))).toEqual([]);
    expect(findDrops(rs, { ...flow('in', 'udp', 4789), family: 6, local: '2001:db8::1', remotes: ['2001:db8::2'] })).toEqual([]);
  });

  it('a negated port match never matches a packet without that header', () => {
    const notData = parseNftRuleset(nftDoc('accept', [{ match: { op: '!=', left: { payload: { protocol: 'udp', field: 'dport' } }, right: 4789 } }, { drop: null }]));
    expect(findDrops(notData, flow('in', 'tcp', 7946))).toEqual([]);
    expect(findDrops(notData, flow('in', 'udp', 4789))).toEqual([]);
    expect(findDrops(notData, flow('in', 'udp', 7946, 7946)).map((f) => f.certain)).toEqual([true]);
    const synDrop = parseNftRuleset(nftDoc('accept', [{ match: { op: 'in', left: { payload: { protocol: 'tcp', field: 'flags' } }, right: 'syn' } }, { drop: null }]));
    expect(findDrops(synDrop, flow('in', 'udp', 4789))).toEqual([]);
    expect(findDrops(synDrop, flow('in', 'tcp', 7946)).map((f) => f.certain)).toEqual([false]);
  });

  it('an address match decides per peer: all peers inside, none, some', () => {
    const saddr = (op: string) => ({ match: { op, left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: { addr: '198.18.0.0', len: 16 } } } });
    const dropFrom = (op: string) => parseNftRuleset(nftDoc('accept', [saddr(op), udpDport(4789), { drop: null }]));
    expect(findDrops(dropFrom('=='), flow('in', 'udp', 4789)).map((f) => f.certain)).toEqual([true]);
    expect(findDrops(dropFrom('!='), flow('in', 'udp', 4789))).toEqual([]);
    const some = { ...flow('in', 'udp', 4789), remotes: ['198.18.0.2', '203.0.113.9'] };
    expect(findDrops(dropFrom('=='), some).map((f) => f.certain)).toEqual([false]);
  });

  it('what it cannot decide makes a drop possible, not certain: conntrack before a drop, an accept before the policy', () => {
    const ct = parseNftRuleset(nftDoc('accept', [ctEstablished, { drop: null }], [udpDport({ set: [4789, { range: [8000, 9000] }] }), { counter: { packets: 0, bytes: 0 } }, { reject: null }]));
    expect(summary(findDrops(ct, flow('in', 'udp', 4789))).map((s) => s.slice(0, 2))).toEqual([
      ['nft inet t in handle 10', false],
      ['nft inet t in handle 11', true],
    ]);
    const policy = parseNftRuleset(nftDoc('drop', [ctEstablished, { accept: null }]));
    expect(summary(findDrops(policy, flow('in', 'udp', 4789)))).toEqual([['inet t in policy', false, 'policy drop', 'nft insert rule inet t in udp dport 4789 accept']]);
    const opened = parseNftRuleset(nftDoc('drop', [udpDport(4789), { accept: null }]));
    expect(findDrops(opened, flow('in', 'udp', 4789))).toEqual([]);
  });

  it('a netdev ingress chain counts only on the device it is bound to', () => {
    const doc = (dev: unknown) => ({
      nftables: [
        { chain: { family: 'netdev', table: 'n', name: 'in', handle: 1, type: 'filter', hook: 'ingress', dev, prio: 0, policy: 'accept' } },
        { rule: { family: 'netdev', table: 'n', chain: 'in', handle: 2, expr: [udpDport(4789), { drop: null }] } },
      ],
    });
    expect(findDrops(parseNftRuleset(doc('eth0')), flow('in', 'udp', 4789)).map((f) => f.fix)).toEqual(['nft delete rule netdev n in handle 2']);
    expect(findDrops(parseNftRuleset(doc(['eth1', 'eth2'])), flow('in', 'udp', 4789))).toEqual([]);
  });

  it('an empty or foreign document is an empty ruleset', () => {
    expect(parseNftRuleset({}).chains).toEqual([]);
    expect(parseNftRuleset({ nftables: [null, 3, { chain: { family: 'arp', table: 'a', name: 'c', hook: 'input' } }] }).chains).toEqual([]);
  });
});

describe('iptables-legacy-save', () => {
  const rs = parseIptablesSave(fixture('iptables-save.txt'), 4, 'iptables-legacy');

  it('finds the data port rule with its source prefix and the multiport REJECT for gossip over UDP', () => {
    expect(summary(findDrops(rs, flow('in', 'udp', 4789)))).toEqual([
      ['iptables-legacy -t filter INPUT rule 1', true, '-s 198.18.0.0/16 -p udp --dport 4789 drop', 'iptables-legacy -t filter -D INPUT 1'],
    ]);
    expect(summary(findDrops(rs, flow('in', 'udp', 7946, 7946)))[0].slice(0, 3)).toEqual(['iptables-legacy -t filter INPUT rule 2', true, '! -i lo -p udp --dports 7946,4789 reject']);
  });

  it('a conntrack match in raw makes the TCP gossip drop possible only', () => {
    expect(summary(findDrops(rs, flow('in', 'tcp', 7946))).map((s) => s.slice(0, 2))).toEqual([['iptables-legacy -t raw PREROUTING rule 1', false]]);
  });

  it('outgoing: ESP dropped in a user chain, the data port by the OUTPUT policy', () => {
    const esp = findDrops(rs, flow('out', 'esp'));
    expect(esp.map((f) => [f.rule?.where, f.path, f.certain])).toEqual([['iptables-legacy -t filter OVL rule 1', 'iptables-legacy -t filter OUTPUT → iptables-legacy -t filter OVL', true]]);
    expect(summary(findDrops(rs, flow('out', 'udp', 4789)))).toEqual([
      ['iptables-legacy -t filter OUTPUT policy', true, 'policy drop', 'iptables-legacy -t filter -I OUTPUT -p udp --dport 4789 -j ACCEPT'],
    ]);
  });

  it('ignores what it cannot parse rather than inventing rules', () => {
    const odd = parseIptablesSave('*filter\n:INPUT ACCEPT [0:0]\n-A NOCHAIN -j DROP\ngarbage\n-A INPUT -m mark --mark 1 -j DROP\nCOMMIT\n', 4, 'iptables-legacy');
    expect(summary(findDrops(odd, flow('in', 'udp', 4789))).map((s) => s.slice(0, 2))).toEqual([['iptables-legacy -t filter INPUT rule 1', false]]);
  });
});
