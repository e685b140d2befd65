/**
 * Each doctor check on made-up facts: a healthy host gives one ok row per
 * check; each fault gives the row, status and hint an operator needs. The
 * peer checks read rows shaped like the data-path probes' (`overlayctl peers`).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diagnose, type DoctorCheck, type PeerRow } from '../../src/agent/doctor.js';
import { mapBounded } from '../../src/agent/doctor-report.js';
import type { DoctorFacts, NetworkFact } from '../../src/agent/doctor-report.js';
import { parseNftRuleset } from '../../src/agent/doctor-nft.js';
import { encryptedOverlayMtu } from '../../src/crypto/index.js';

const blue: NetworkFact = { name: 'blue', vni: 4100, mtu: 1450, encrypted: false, up: true, local: true };
const red: NetworkFact = { name: 'red', vni: 4101, mtu: 1416, encrypted: true, carrier: 'ip', keySize: 16, up: true, local: true };
const EP = 'a1b2c3d4e5f6a7b8';

/** A healthy host of a three-node cluster, with `change` applied. */
function facts(change: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    self: { name: 'node1', advertiseAddr: '198.18.0.1', listenAddr: '198.18.0.1', family: 4, dataPort: 4789, gossipPort: 7946, espPort: 4500, gossipKey: true, stateDir: '/var/lib/overlayd', keyRotationIntervalS: 43_200 },
    members: [1, 2, 3].map((i) => ({ name: `node${i}`, addr: `198.18.0.${i}`, port: 7946, state: 'alive' as const, incarnation: 1 })),
    networks: [blue, red],
    endpoints: [{ id: EP, network: 'blue', netns: 'web', ifname: 'eth0', mtu: 1450 }],
    fdb: [{ network: 'blue', mac: '02:42:c6:13:01:04', vtep: '198.18.0.2', origin: 'endpoint', owner: 'node2', ownerState: 'alive', ownerAddr: '198.18.0.2' }],
    remoteEndpoints: new Map([['node2', ['blue']], ['node3', ['green']]]),
    staticPeers: [{ network: 'blue', ip: '198.19.1.9', vtep: '198.18.0.9' }],
    peers: [
      { vtep: '198.18.0.2', node: 'node2', networks: ['blue', 'red'], state: 'up', lastRx: '2026-12-07T17:00:00Z', clockOffsetMs: 12 },
      { vtep: '198.18.0.9', node: null, networks: ['blue'], state: 'unknown', lastRx: '2026-12-07T17:00:00Z', reason: 'static peer (peer add): no overlayd agent answers probes; lastRx shows its traffic' },
    ],
    underlay: { ifname: 'eth0', mtu: 1500 },
    links: [
      { ifname: 'eth0', mtu: 1500, up: true },
      ...[4100, 4101].flatMap((vni) => [
        { ifname: `ov-${vni}`, mtu: 65521, up: true },
        { ifname: `vx-${vni}`, mtu: 65521, master: `ov-${vni}`, up: true },
      ]),
      { ifname: `vo${EP.slice(0, 12)}`, mtu: 65521, master: 'ov-4100', up: true },
    ],
    firewall: { rulesets: [parseNftRuleset({ nftables: [] })], unreadable: [] },
    stateDir: {},
    routes: ['198.18.0.2', '198.18.0.3', '198.18.0.9'].map((addr) => ({ addr, dev: 'eth0', prefsrc: '198.18.0.1' })),
    keys: [{ network: 'red', vteps: ['198.18.0.2'], outbound: ['198.18.0.2'], sendKeyAgeS: 3600 }],
    conntrack: { count: 120, max: 262144 },
    drops: { seconds: 1, before: { punt_overflow: 0, tap_write: 3, udp_send: 0 }, after: { punt_overflow: 0, tap_write: 3, udp_send: 0 } },
    ...change,
  };
}

const problems = (f: DoctorFacts, check: string): DoctorCheck[] => diagnose(f).checks.filter((c) => c.check === check && c.status !== 'ok');
const one = (f: DoctorFacts, check: string): DoctorCheck => {
  const rows = problems(f, check);
  expect(rows).toHaveLength(1);
  return rows[0];
};
const peer = (p: Partial<PeerRow>): PeerRow => ({ vtep: '198.18.0.2', node: 'node2', networks: ['blue'], state: 'up', ...p });

describe('doctor checks', () => {
  it('a healthy host: one ok row per check, in the documented order, status ok', () => {
    const r = diagnose(facts());
    expect(r.checks.map((c) => [c.check, c.status])).toEqual(
      ['peer-data-port', 'static-peer', 'clock-skew', 'mtu-underlay', 'mtu-container', 'firewall-data-port', 'firewall-gossip-port', 'firewall-esp', 'network-links', 'state-dir', 'datapath-drops', 'underlay-route', 'conntrack', 'esp-keys', 'identity', 'gossip-key', 'members', 'duplicate-vtep', 'stale-fdb'].map((c) => [c, 'ok']),
    );
    expect([r.status, r.counts, r.node]).toEqual(['ok', { ok: 19, warn: 0, fail: 0 }, 'node1']);
    expect(r.checks.every((c) => c.hint === '' && c.subject === undefined && c.detail.length > 0)).toBe(true);
  });

  it('without a probe source the peer checks are left out, not reported ok', () => {
    expect(diagnose(facts({ peers: undefined })).checks.map((c) => c.check)).not.toContain('peer-data-port');
  });

  it('peer-data-port: a peer down on the data path fails with the probe\'s reason; one not probed yet is no problem', () => {
    const reason = 'network blue: no answer to probes to 198.18.0.2 over udp/4789; gossip says member node2 is alive';
    const f = facts({ peers: [peer({ state: 'down', reason }), peer({ vtep: '198.18.0.3', node: 'node3', state: 'unknown', reason: 'network blue: probing' })] });
    const row = one(f, 'peer-data-port');
    expect(row).toMatchObject({ status: 'fail', subject: '198.18.0.2', detail: `node2 (VTEP 198.18.0.2) is down on the data path: ${reason}` });
    expect(row.hint).toMatch(/drops udp 4789: run overlayctl doctor on node2/);
    expect(diagnose(f).checks.find((c) => c.check === 'peer-data-port' && c.status === 'ok')).toBeUndefined();
    expect(one(facts({ peers: [peer({ state: 'down' })] }), 'peer-data-port').detail).toBe('node2 (VTEP 198.18.0.2) is down on the data path; gossip says alive');
    expect(one(facts({ peers: [peer({ state: 'down', networks: ['red'] })] }), 'peer-data-port').hint).toContain('udp 4789 and ESP (IP protocol 50)');
    const probing = diagnose(facts({ peers: [peer({}), peer({ vtep: '198.18.0.3', node: 'node3', state: 'unknown' })] })).checks.find((c) => c.check === 'peer-data-port');
    expect([probing?.status, probing?.detail]).toEqual(['ok', '1 peer VTEP(s) answer on the data path, 1 not probed (yet)']);
  });

  it('static-peer: a static peer that never answered is a warning with the command that removes it', () => {
    const row = one(facts({ peers: [{ vtep: '198.18.0.9', node: null, networks: ['blue'], state: 'unknown', lastRx: null }] }), 'static-peer');
    expect(row).toMatchObject({ status: 'warn', detail: 'static peer VTEP 198.18.0.9 (blue) never answered', subject: '198.18.0.9' });
    expect(row.hint).toContain('overlayctl peer rm blue --ip 198.19.1.9');
  });

  it('clock-skew: over 2 s warns, over 60 s fails, from the probes\' offsets', () => {
    expect(one(facts({ peers: [peer({ clockOffsetMs: -3500 })] }), 'clock-skew')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/^node2's clock is 3\.5 s behind/) });
    expect(one(facts({ peers: [peer({ clockOffsetMs: 120_000 })] }), 'clock-skew').status).toBe('fail');
    expect(problems(facts({ peers: [peer({ clockOffsetMs: 1999 })] }), 'clock-skew')).toEqual([]);
  });

  it('mtu-underlay: a network larger than the underlay carries, plain and encrypted', () => {
    const small = one(facts({ underlay: { ifname: 'eth0', mtu: 1400 }, networks: [blue] }), 'mtu-underlay');
    expect(small.detail).toBe("network blue has MTU 1450, but eth0's MTU 1400 carries at most 1350 (VXLAN over IPv4): full-size frames do not fit");
    expect(small.hint).toBe('raise the underlay MTU (ip link set eth0 mtu 1500) or recreate the network with --mtu 1350');
    const tooBig = { ...red, mtu: 1450 };
    expect(one(facts({ networks: [tooBig] }), 'mtu-underlay').detail).toContain(`carries at most ${encryptedOverlayMtu(1500, 4, 'ip')} (VXLAN + ESP over IPv4)`);
    expect(problems(facts({ self: { ...facts().self, family: 6 }, underlay: { ifname: 'eth0', mtu: 1500 }, networks: [blue] }), 'mtu-underlay')[0].detail).toContain('carries at most 1430 (VXLAN over IPv6)');
  });

  it('mtu-container: larger than the network fails (black hole), smaller warns, unreadable fails', () => {
    const ep = facts().endpoints[0];
    const big = one(facts({ endpoints: [{ ...ep, mtu: 9000 }] }), 'mtu-container');
    expect([big.status, big.subject, big.hint]).toEqual(['fail', 'eth0 in web', 'ip netns exec web ip link set eth0 mtu 1450']);
    expect(big.detail).toMatch(/^eth0 in web has MTU 9000, above network blue's 1450: packets above 1450 bytes are black-holed/);
    expect(one(facts({ endpoints: [{ ...ep, mtu: 1400 }] }), 'mtu-container').status).toBe('warn');
    expect(one(facts({ endpoints: [{ ...ep, mtu: undefined, error: 'network namespace web does not exist' }] }), 'mtu-container').hint).toBe(`the container is gone or its interface was removed: overlayctl endpoint detach ${EP.slice(0, 12)}`);
    expect(problems(facts({ endpoints: [{ ...ep, netns: '', mtu: undefined }] }), 'mtu-container')).toEqual([]);
  });

  it('gossip-key: encrypted networks without --gossip-key warn; without encrypted networks it is fine', () => {
    const row = one(facts({ self: { ...facts().self, gossipKey: false } }), 'gossip-key');
    expect([row.status, row.subject]).toEqual(['warn', 'red']);
    expect(row.detail).toBe('encrypted network(s) red while this agent runs without --gossip-key: their data-plane keys travel in clear gossip');
    expect(problems(facts({ self: { ...facts().self, gossipKey: false }, networks: [blue] }), 'gossip-key')).toEqual([]);
  });

  it('members: suspect warns; dead fails when it had endpoints on a network here, else warns', () => {
    const members = facts().members.map((m) => (m.name === 'node2' ? { ...m, state: 'dead' as const } : m.name === 'node3' ? { ...m, state: 'suspect' as const } : m));
    const rows = problems(facts({ members }), 'members');
    expect(rows.map((r) => [r.subject, r.status, r.detail])).toEqual([
      ['node2', 'fail', 'node2 (198.18.0.2) is dead: its endpoints on blue are unreachable from here'],
      ['node3', 'warn', 'node3 (198.18.0.3) is suspect'],
    ]);
    const dead3 = facts().members.map((m) => (m.name === 'node3' ? { ...m, state: 'dead' as const } : m));
    expect(one(facts({ members: dead3 }), 'members').status).toBe('warn');
  });

  it('duplicate-vtep: two live members on one address fail', () => {
    const members = facts().members.map((m) => (m.name === 'node3' ? { ...m, addr: '198.18.0.2' } : m));
    expect(one(facts({ members }), 'duplicate-vtep')).toMatchObject({ status: 'fail', subject: '198.18.0.2', detail: expect.stringMatching(/^members node2, node3 all advertise 198\.18\.0\.2/) });
  });

  it('stale-fdb: an entry whose owner died, moved, or that nobody owns fails; static peers are theirs', () => {
    const e = facts().fdb[0];
    const rows = problems(
      facts({
        fdb: [
          { ...e, ownerState: 'dead' },
          { ...e, mac: '02:42:c6:13:01:05', ownerAddr: '198.18.0.7' },
          { network: 'blue', mac: '02:42:c6:13:01:06', vtep: '198.18.0.3', origin: 'none' },
          { network: 'blue', mac: '02:42:c6:13:01:09', vtep: '198.18.0.9', origin: 'static' },
        ],
      }),
      'stale-fdb',
    );
    expect(rows.map((r) => r.detail)).toEqual([
      'FDB blue 02:42:c6:13:01:04 → 198.18.0.2: its owner node2 is dead',
      'FDB blue 02:42:c6:13:01:05 → 198.18.0.2: its owner node2 is now at 198.18.0.7',
      'FDB blue 02:42:c6:13:01:06 → 198.18.0.3: no endpoint or static peer has that MAC',
    ]);
  });

  it('network-links: a missing TAP, a veth off its bridge, a network with endpoints that is not up', () => {
    const links = facts().links as { ifname: string; master?: string }[];
    const broken = links.filter((l) => l.ifname !== 'vx-4100').map((l) => (l.ifname.startsWith('vo') ? { ...l, master: undefined } : l));
    const rows = problems(facts({ links: broken as DoctorFacts['links'], networks: [blue, { ...red, up: false }] }), 'network-links');
    expect(rows.map((r) => r.subject)).toEqual(['vx-4100', `vo${EP.slice(0, 12)}`, 'red']);
    expect(rows[0].hint).toMatch(/^restart the agent/);
    expect(rows[1].hint).toBe(`ip link set vo${EP.slice(0, 12)} master ov-4100 up`);
  });

  it('state-dir and datapath-drops: an unwritable folder fails; rising trouble counters warn with their rate', () => {
    expect(one(facts({ stateDir: { error: 'EROFS: read-only file system' } }), 'state-dir').detail).toBe('cannot write to /var/lib/overlayd: EROFS: read-only file system');
    const row = one(facts({ drops: { seconds: 2, before: { punt_overflow: 10, tap_write: 0 }, after: { punt_overflow: 50, tap_write: 0 } } }), 'datapath-drops');
    expect([row.subject, row.detail]).toEqual(['punt_overflow', 'punt_overflow drops are rising: 40 in 2.0 s (20.0/s, 50 in all)']);
  });

  it('underlay-route: no route fails; a wildcard listener whose route leaves from another address fails; so does a learnt path MTU too small', () => {
    const routes = facts().routes;
    expect(one(facts({ routes: [{ addr: '198.18.0.2', error: 'RTNETLINK answers: Network is unreachable' }] }), 'underlay-route').detail).toBe('no route to VTEP 198.18.0.2: RTNETLINK answers: Network is unreachable');
    const other = [{ ...routes[0], prefsrc: '198.18.0.77' }];
    expect(problems(facts({ routes: other }), 'underlay-route')).toEqual([]); // bound to the VTEP address: the source is fixed
    const row = one(facts({ routes: other, self: { ...facts().self, listenAddr: '0.0.0.0' } }), 'underlay-route');
    expect(row.detail).toBe("packets to 198.18.0.2 leave from 198.18.0.77 (eth0), not from this host's VTEP 198.18.0.1: the peer drops them (unknown_vtep)");
    expect(one(facts({ routes: [{ ...routes[0], mtu: 1400 }] }), 'underlay-route').detail).toBe('the kernel learnt a path MTU of 1400 to 198.18.0.2: too small for blue, red');
  });

  it('conntrack: nearly full warns, full fails, not loaded is fine', () => {
    expect(one(facts({ conntrack: { count: 950, max: 1000 } }), 'conntrack')).toMatchObject({ status: 'warn', detail: 'conntrack table 950 of 1000 (95 %): nearly full' });
    expect(one(facts({ conntrack: { count: 1000, max: 1000 } }), 'conntrack').hint).toContain('udp dport 4789 notrack');
    expect(diagnose(facts({ conntrack: undefined })).checks.find((c) => c.check === 'conntrack')).toMatchObject({ status: 'ok', detail: 'conntrack is not in use in this namespace' });
  });

  it('esp-keys: a VTEP without an outbound SA fails (no_sa); a sending key far past its rotation warns', () => {
    const k = facts().keys[0];
    const row = one(facts({ keys: [{ ...k, vteps: ['198.18.0.2', '198.18.0.3'] }] }), 'esp-keys');
    expect([row.status, row.detail]).toEqual(['fail', 'network red has no outbound SA to 198.18.0.3: frames to it are dropped (no_sa)']);
    expect(one(facts({ keys: [{ ...k, sendKeyAgeS: 3 * 43_200 }] }), 'esp-keys')).toMatchObject({ status: 'warn', detail: 'network red has sent with one key for 36 h (rotation every 12 h): scheduled rotations stalled' });
    expect(problems(facts({ self: { ...facts().self, keyRotationIntervalS: 0 }, keys: [{ ...k, sendKeyAgeS: 10 ** 7 }] }), 'esp-keys')).toEqual([]);
  });

  it('identity: an expired certificate fails, one about to expire warns, refused certificates of others warn', () => {
    const signed = { mode: 'required' as const, summary: 'signed cluster', cert: { name: 'node1', notAfter: '2099-01-01T00:00:00Z', daysLeft: 300 }, certificates: { known: 2, good: 2, revoked: 0 } };
    expect(diagnose(facts({ identity: signed })).checks.find((c) => c.check === 'identity')?.detail).toBe('signed cluster; certificate good for 300 day(s)');
    expect(one(facts({ identity: { ...signed, cert: { name: 'node1', notAfter: '2020-01-01T00:00:00Z', daysLeft: 0 } } }), 'identity')).toMatchObject({ status: 'fail', detail: "this node's certificate expired at 2020-01-01T00:00:00Z: other nodes refuse its entries" });
    expect(one(facts({ identity: { ...signed, cert: { ...signed.cert, daysLeft: 3 } } }), 'identity').status).toBe('warn');
    expect(one(facts({ identity: { ...signed, certificates: { known: 2, good: 1, revoked: 1 } } }), 'identity').detail).toBe("1 of 2 other nodes' certificates are not good now (1 revoked): their entries are refused here");
  });

  it('firewall checks name the rule and the command that removes it; an unreadable firewall warns', () => {
    const rs = parseNftRuleset(JSON.parse(readFileSync(new URL('./fixtures/nft-ruleset.json', import.meta.url), 'utf8')));
    const f = facts({ firewall: { rulesets: [rs], unreadable: [] } });
    expect(one(f, 'firewall-data-port')).toMatchObject({
      status: 'fail',
      subject: 'nft ip t in handle 5',
      detail: 'nft ip t in handle 5: "udp dport @blocked drop" drops incoming udp 4789 (data port)',
      hint: 'nft delete rule ip t in handle 5',
    });
    expect(problems(f, 'firewall-gossip-port').map((r) => r.subject)).toEqual(['nft ip t in handle 8', 'ip t in policy']);
    expect(one(f, 'firewall-esp').detail).toBe('nft ip t sub handle 11: "ip protocol esp drop" drops incoming ESP (IP protocol 50) (reached by ip t in → ip t sub)');
    expect(one(facts({ firewall: { rulesets: [], unreadable: ['nft: not found'] } }), 'firewall-data-port').status).toBe('warn');
  });

  it('a check that throws becomes a failed row; the others still run', () => {
    const r = diagnose(facts(), [() => { throw new Error('boom'); }, () => [{ check: 'x', status: 'ok', detail: 'fine', hint: '' }]]);
    expect(r.checks.map((c) => [c.check, c.status])).toEqual([['doctor', 'fail'], ['x', 'ok']]);
    expect(r.checks[0].detail).toBe('a check failed to run (unnamed): boom');
  });
});

describe('mapBounded', () => {
  it('keeps the order and never runs more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const out = await mapBounded([5, 1, 4, 2, 3, 0, 6], async (n) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      return n * 10;
    }, 3);
    expect([out, most]).toEqual([[50, 10, 40, 20, 30, 0, 60], 3]);
    expect(await mapBounded([], async () => 1)).toEqual([]);
  });
});
