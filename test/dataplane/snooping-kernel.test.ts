/**
 * IGMP / MLD snooping against the Linux kernel's own IGMPv3 and MLDv2 hosts:
 * a container namespace joins and leaves groups with ordinary sockets; its
 * reports, captured on the host side of its veth, are fed to GroupSnooping,
 * which must end with exactly the groups still joined. Then the querier's
 * general queries (built by buildGeneralQuery, sent as raw frames) must be
 * answered by the kernel with current-state reports — MLD ones only if the
 * query's link-local source and router alert are right (RFC 3810 §5.1.14).
 */
import { describe, expect, it } from 'vitest';
import { buildGeneralQuery, findMembershipMessage, querierAddress } from '../../src/dataplane/multicast/membership-frames.js';
import { GroupSnooping, MEMBERSHIP_INTERVAL_MS } from '../../src/dataplane/multicast/snooping.js';
import { haveNetns, haveTools, requirement } from '../../src/testkit/ci.js';
import { formatMac, parseMac } from '../../src/wire/index.js';
import { nsExec } from '../../src/testkit/netns.js';
import { useTopology } from '../helpers/vitest-topology.js';
import { pcapRecords } from '../harness/pcap.js';

const ready = requirement(haveNetns() && haveTools('tcpdump', 'python3'), 'needs root, tcpdump and python3');

/** Joins three groups, leaves one, stays a listener of the others for `stayS` seconds. */
const LISTENER = (stayS: number) => `
import socket, struct, time
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
idx = socket.if_nametoindex('eth0')
mreq = lambda g: socket.inet_aton(g) + socket.inet_aton('0.0.0.0') + struct.pack('@i', idx)  # ip_mreqn: by interface, no route needed
s4.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq('239.1.2.3'))
s4.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq('239.1.2.5'))
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, 'ff0e::42') + struct.pack('@I', idx))
time.sleep(1.5)
s4.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, mreq('239.1.2.5'))
print('ready', flush=True)
time.sleep(${stayS})
`;

/** Sends raw Ethernet frames (hex, one per argument) out of `iface`. */
const SEND_RAW = `
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for h in sys.argv[2:]: s.send(bytes.fromhex(h))
`;

describe.skipIf(!ready)('snooping the kernel\'s IGMPv3 and MLDv2', () => {
  const topo = useTopology({ hosts: 1 });

  it('learns the groups a container joined and left, and the kernel answers our queries', async () => {
    const t = topo();
    const host = t.host(1).ns;
    const c = await t.container(1, 'mc');
    const veth = t.names.link('mcv');
    await nsExec(host, ['ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', c.ns]);
    await nsExec(host, ['ip', 'link', 'set', veth, 'up']);
    await nsExec(c.ns, ['ip', 'link', 'set', 'eth0', 'address', '02:42:c6:13:05:02', 'up']);
    await nsExec(c.ns, ['ip', 'addr', 'add', '198.19.5.2/24', 'dev', 'eth0']);
    await nsExec(c.ns, ['sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=0']);

    // MLD sits behind a hop-by-hop header: icmp6 would not match it.
    const cap = await t.capture(host, veth, 'igmp or (ip6 and ip6[6] == 0 and ip6[40] == 58)', { durationMs: 15_000 });
    const listener = t.spawn(c.ns, ['python3', '-c', LISTENER(6)]);
    await new Promise((r) => setTimeout(r, 3500)); // joined, one left, unsolicited reports sent
    const querier = querierAddress(parseMac('02:00:5e:00:00:fe'));
    const queries = ([4, 6] as const).map((f) => buildGeneralQuery(f, querier, { maxRespMs: 1000, intervalS: 125 }).toString('hex'));
    await nsExec(host, ['python3', '-c', SEND_RAW, veth, ...queries]);
    await new Promise((r) => setTimeout(r, 2000)); // answers come within the 1 s asked for
    const records = pcapRecords(await cap.stop()); // before the listener exits (and leaves everything)
    await listener.exited;

    let clock = 0;
    const changes: string[] = [];
    const snooping = new GroupSnooping((vni, group, joined) => changes.push(`${joined ? '+' : '-'}${group}`), () => clock);
    snooping.addNetwork(4096);
    const seen = records.map((r) => ({ frame: r, m: findMembershipMessage(r) })).filter((x) => x.m !== null);
    for (const { m } of seen) snooping.heard(4096, m!.mac, m!.message, m!.family);

    expect(snooping.groups()).toEqual([
      { vni: 4096, group: '239.1.2.3', members: ['02:42:c6:13:05:02'] },
      { vni: 4096, group: 'ff0e::42', members: ['02:42:c6:13:05:02'] },
    ]);
    expect(changes).toContain('+239.1.2.5');
    expect(changes).toContain('-239.1.2.5');

    // Our two queries went out; after each, the kernel answered with current-state (IS_EXCLUDE) records.
    const ours = seen.findIndex((x) => x.m!.mac === formatMac(querier.mac));
    expect(ours).toBeGreaterThanOrEqual(0);
    const after = seen.slice(ours).flatMap((x) => (x.m!.message.kind === 'report' ? x.m!.message.records : []));
    expect(after).toContainEqual({ type: 'is_exclude', group: '239.1.2.3', sources: [] });
    expect(after).toContainEqual({ type: 'is_exclude', group: 'ff0e::42', sources: [] });
    expect(after.filter((r) => r.type === 'is_exclude').map((r) => r.group)).not.toContain('239.1.2.5');

    // Unrefreshed memberships expire.
    clock += MEMBERSHIP_INTERVAL_MS + 1;
    snooping.expire();
    expect(snooping.groups()).toEqual([]);
  }, 30_000);
});
