/**
 * A multicast network through the native I/O loops (docs/multicast.md
 * "Replication"): a NativeDatapath with two workers on a real TAP in a
 * namespace, two VTEPs that are UDP sockets on its loopback. The
 * kernel's broadcast and group traffic out of the TAP reaches each VTEP of
 * its list once per frame (sendmmsg batches, no GSO train across VTEPs);
 * the kernel's own IGMP reports go to the membership listener, never to a
 * VTEP; injectFrame writes a frame the kernel's stack receives.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatapathCounters } from '../../src/dataplane/datapath.js';
import { PeerProcess, nsRun, run } from '../../bench/native-smoke/topology.js';
import { encodeEthernet, encodeIPv4, encodeUdp, parseIp, parseMac } from '../../src/wire/index.js';
import { groupMacText } from '../../src/testkit/group-frames.js';
import { haveNetns, haveTools, requirement } from '../../src/testkit/ci.js';
import { runPrefix } from '../../src/testkit/run.js';
import type { MulticastPeerConfig } from './multicast-peer.js';
import { haveAddon } from './support.js';

const ready = haveAddon() && requirement(haveNetns() && haveTools('python3', 'sysctl'), 'needs root, ip, sysctl and python3');

const VNI = 77;
const LOCAL_VTEP = '198.18.0.1';
const [VTEP_A, VTEP_B] = ['198.18.0.11', '198.18.0.12'];
const TAP_IP = '198.19.7.1';
const TAP_MAC = '02:42:c6:13:07:01';
const [BROADCASTS, GROUP_FRAMES] = [40, 30];

/**
 * VTEPs (address:expected datagrams): counts the VXLAN datagrams each gets whose inner frame is UDP
 * to port 5555, and any carrying IGMP; ends half a second after all expected arrived, or after 8 s.
 */
const RECEIVERS = `
import socket, sys, json, select, time
want = dict((a, int(n)) for a, n in (x.split(":") for x in sys.argv[1:]))
socks = []
for a in want:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((a, 4789)); socks.append(s)
print("listening", flush=True)
seen = {a: {"broadcast": 0, "group": 0, "igmp": 0, "other": 0} for a in want}
end = time.time() + 8
while time.time() < end:
    if all(seen[a]["broadcast"] + seen[a]["group"] >= n for a, n in want.items()): end = min(end, time.time() + 0.5)
    r, _, _ = select.select(socks, [], [], 0.2)
    for s in r:
        d = s.recv(65535); f = d[8:]; n = seen[s.getsockname()[0]]
        ip = f[14:]
        if len(ip) >= 20 and ip[9] == 2: n["igmp"] += 1
        elif len(ip) >= 24 and ip[9] == 17 and ip[22:24] == (5555).to_bytes(2, "big"):
            n["broadcast" if f[:6] == b"\\xff" * 6 else "group"] += 1
        else: n["other"] += 1
print(json.dumps(seen), flush=True)
`;

/** Broadcasts and group datagrams out of the TAP, then a join (the kernel's IGMP reports), then waits for an injected datagram. */
const SENDER = `
import socket, struct, sys, time
tap_ip, bcast, nb, ng = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
inbox = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); inbox.bind((tap_ip, 5556)); inbox.settimeout(8)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1); s.bind((tap_ip, 0))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(tap_ip))
for i in range(nb): s.sendto(b"b%d" % i, (bcast, 5555))
for i in range(ng): s.sendto(b"g%d" % i, ("239.1.2.3", 5555))
j = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
j.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("239.9.9.9") + socket.inet_aton(tap_ip))
print("sent", flush=True)
print(inbox.recv(2048).decode(), flush=True)
`;

/** A frame from an endpoint behind another VTEP to the TAP's own address, port 5556. */
function injected(): Buffer {
  const [src, dst] = [parseIp('198.19.7.9'), parseIp(TAP_IP)];
  const ip = encodeIPv4({ id: 7, ttl: 64, protocol: 17, src, dst }, encodeUdp(src, dst, { srcPort: 7000, dstPort: 5556 }, Buffer.from('overlayd-inject')));
  return encodeEthernet({ dst: parseMac(TAP_MAC), src: parseMac('02:42:c6:13:07:09'), etherType: 0x0800 }, ip);
}

/** Starts a python3 script in `ns`: `started` once it printed its first line, `done` with its whole output when it exits. */
function python(ns: string, script: string, args: string[]): { started: Promise<void>; done: Promise<string> } {
  const child = spawn('ip', ['netns', 'exec', ns, 'python3', '-u', '-c', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const started = new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => ((out += d.toString()), out.includes('\n') && resolve())));
  const done = new Promise<string>((resolve, reject) =>
    child.on('exit', (code) => (clearTimeout(timer), code === 0 ? resolve(out) : reject(new Error(`python3 exited ${code}: ${err}`)))),
  );
  return { started, done };
}

describe.skipIf(!ready)('a multicast network through the native I/O loops', () => {
  const ns = `${runPrefix()}mc`;
  const tap = `${runPrefix()}mt`;
  let peer: PeerProcess | undefined;

  beforeAll(async () => {
    await run('ip', ['netns', 'add', ns]);
    await nsRun(ns, ['ip', 'link', 'set', 'lo', 'up']);
    for (const a of [LOCAL_VTEP, VTEP_A, VTEP_B]) await nsRun(ns, ['ip', 'addr', 'add', `${a}/32`, 'dev', 'lo']);
    const cfg: MulticastPeerConfig = {
      bindAddress: LOCAL_VTEP,
      vni: VNI,
      tapName: tap,
      mtu: 1450,
      rate: 0,
      fdb: [
        ['02:42:c6:13:07:0a', VTEP_A],
        ['02:42:c6:13:07:0b', VTEP_B],
      ],
      groups: [[groupMacText('239.1.2.3'), [VTEP_B]]],
    };
    peer = await PeerProcess.start(ns, cfg, join(dirname(fileURLToPath(import.meta.url)), 'multicast-peer.ts'));
    await nsRun(ns, ['sysctl', '-qw', `net.ipv6.conf.${tap}.disable_ipv6=1`]);
    await nsRun(ns, ['ip', 'link', 'set', tap, 'address', TAP_MAC, 'mtu', '1450']);
    await nsRun(ns, ['ip', 'addr', 'add', `${TAP_IP}/24`, 'dev', tap]);
    await nsRun(ns, ['ip', 'link', 'set', tap, 'up']);
  });

  afterAll(async () => {
    await peer?.stop();
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  });

  it('replicates the TAP\'s broadcast and group frames to their VTEPs, punts IGMP, injects into the TAP', async () => {
    const receivers = python(ns, RECEIVERS, [`${VTEP_A}:${BROADCASTS}`, `${VTEP_B}:${BROADCASTS + GROUP_FRAMES}`]);
    await receivers.started;
    const sender = python(ns, SENDER, [TAP_IP, '198.19.7.255', String(BROADCASTS), String(GROUP_FRAMES)]);
    await sender.started;
    expect(await peer!.command<boolean>(`inject ${VNI + 1} ${injected().toString('hex')}`)).toBe(false);
    expect(await peer!.command<boolean>(`inject ${VNI} ${injected().toString('hex')}`)).toBe(true);
    expect(await peer!.command<boolean>(`inject ${VNI} 0102`)).toBe(false); // shorter than an Ethernet header: the TAP refuses it
    expect((await sender.done).trim().split('\n')).toEqual(['sent', 'overlayd-inject']);

    const seen = JSON.parse((await receivers.done).trim().split('\n').pop()!) as Record<string, Record<string, number>>;
    expect(seen[VTEP_A]).toMatchObject({ broadcast: BROADCASTS, group: 0, igmp: 0 });
    expect(seen[VTEP_B]).toMatchObject({ broadcast: BROADCASTS, group: GROUP_FRAMES, igmp: 0 });

    const memberships = await peer!.command<string[]>('memberships');
    expect(memberships.length).toBeGreaterThan(0);
    for (const m of memberships) {
      const [vni, hex] = m.split(':');
      expect(Number(vni)).toBe(VNI);
      expect(Buffer.from(hex, 'hex')[14 + 9]).toBe(2); // IGMP
    }
    const c = await peer!.command<DatapathCounters>('counters');
    expect(c.multicast.frames).toBeGreaterThanOrEqual(BROADCASTS + GROUP_FRAMES);
    expect(c.multicast.copies).toBeGreaterThanOrEqual(2 * BROADCASTS + GROUP_FRAMES);
    expect(c.drops).toMatchObject({ multicast_rate: 0, udp_send: 0, punt_overflow: 0, tap_write: 1 });
  });
});
