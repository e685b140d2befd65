/**
 * The native I/O loops with real traffic: two NativeDatapaths back to back
 * in two namespaces over a veth underlay (bench/native-smoke/topology.ts),
 * each with a TAP carrying an overlay address. Ping crosses and is counted;
 * garbage datagrams at the data port are counted as drops and forwarding
 * goes on; a TCP transfer of several MB (TSO super-frames out of the TAP,
 * UDP GSO, GRO coalescing into the far TAP) arrives intact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatapathCounters } from '../../src/dataplane/datapath.js';
import type { OffloadStats } from '../../src/dataplane/addon.js';
import { SIDES, SMOKE_VNI, SmokeTopology, nsRun } from '../../bench/native-smoke/topology.js';
import { haveNetns, haveTools, requirement } from '../../src/testkit/ci.js';
import { runPrefix } from '../../src/testkit/run.js';
import { haveAddon } from './support.js';

const ready = haveAddon() && requirement(haveNetns() && haveTools('ping', 'python3'), 'needs root, ip, ping and python3');

/** A VXLAN header for `vni` with flags `flags`, then `inner`. */
const vxlan = (vni: number, inner: Buffer, flags = 0x08): Buffer =>
  Buffer.concat([Buffer.from([flags, 0, 0, 0, (vni >> 16) & 0xff, (vni >> 8) & 0xff, vni & 0xff, 0]), inner]);

/** An Ethernet frame from `srcMac` to side a's MAC carrying 46 bytes of zeros. */
const innerFrame = (srcMac: string): Buffer =>
  Buffer.concat([Buffer.from(SIDES[0].mac.replaceAll(':', ''), 'hex'), Buffer.from(srcMac.replaceAll(':', ''), 'hex'), Buffer.from([0x08, 0x00]), Buffer.alloc(46)]);

/** Sender and receiver of a TCP transfer; both print "<bytes> <sha256>". */
const TCP_SINK = `
import socket, hashlib, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(1); s.settimeout(30)
print("listening", flush=True)
c, _ = s.accept(); c.settimeout(30); h = hashlib.sha256(); n = 0
while True:
    d = c.recv(262144)
    if not d: break
    h.update(d); n += len(d)
print(n, h.hexdigest(), flush=True)
`;
const TCP_SOURCE = `
import socket, hashlib, sys, random
rnd = random.Random(7); data = rnd.randbytes(int(sys.argv[2]))
c = socket.create_connection((sys.argv[1], 5001), timeout=30); c.sendall(data); c.close()
print(len(data), hashlib.sha256(data).hexdigest(), flush=True)
`;

/**
 * UDP datagrams whose content follows from their sequence number: the sink
 * answers the source's hellos (sequence number 2³² − 1) until data comes,
 * and prints "<datagrams> <bad> <out of order> <bytes>" after a second of
 * quiet.
 */
const UDP_DATAGRAM = `
import hashlib, struct
def datagram(seq, size):
    head = struct.pack("!I", seq)
    return head + (hashlib.sha256(head).digest() * (size // 32 + 1))[:size - 4]
`;
const UDP_SINK = `${UDP_DATAGRAM}
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20); s.bind((sys.argv[1], 5002)); s.settimeout(20)
print("listening", flush=True)
n = bad = disorder = size = 0; last = -1
try:
    while True:
        d, peer = s.recvfrom(65535)
        seq = struct.unpack("!I", d[:4])[0] if len(d) >= 4 else -1
        if seq == 0xFFFFFFFF and n == 0:
            s.sendto(b"ready", peer); continue
        s.settimeout(1)
        bad += d != datagram(seq, len(d)); disorder += seq <= last; last = seq; n += 1; size += len(d)
except socket.timeout:
    pass
print(n, bad, disorder, size, flush=True)
`;
/** Sends argv[2] datagrams of argv[3] bytes (the last about half), in bursts; "gso": as UDP_SEGMENT trains of up to 16. */
const UDP_SOURCE = `${UDP_DATAGRAM}
import socket, sys, time
count, size, gso = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "gso"
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM); s.connect((sys.argv[1], 5002))
s.settimeout(0.1)
for _ in range(200):
    try:
        s.send(struct.pack("!I", 0xFFFFFFFF)); s.recv(16); break
    except (socket.timeout, ConnectionRefusedError):
        pass
if gso: s.setsockopt(socket.SOL_UDP, 103, size)  # UDP_SEGMENT
grams = [datagram(k, size if k < count - 1 else size // 2 + 1) for k in range(count)]
for start in range(0, count, 32):
    burst = grams[start:start + 32]
    if gso:
        for i in range(0, len(burst), 16): s.send(b"".join(burst[i:i + 16]))
    else:
        for g in burst: s.send(g)
    time.sleep(0.002)
`;

/** What a UDP sink saw. */
interface UdpSeen {
  datagrams: number;
  bad: number;
  disorder: number;
  bytes: number;
}

/** Sends `count` datagrams of `size` bytes (the last size / 2 + 1) from side `from` to the other side, singly or as UDP_SEGMENT trains. */
async function udpTransfer(topo: SmokeTopology, from: number, count: number, size: number, mode: 'single' | 'gso', family: 4 | 6 = 4): Promise<UdpSeen> {
  const to = 1 - from;
  const address = family === 4 ? SIDES[to].overlay : SIDES[to].overlay6;
  const sink = nsRun(topo.ns[to], ['python3', '-c', UDP_SINK, address], 60_000);
  await nsRun(topo.ns[from], ['python3', '-c', UDP_SOURCE, address, String(count), String(size), mode], 60_000);
  const [datagrams, bad, disorder, bytes] = (await sink).trim().split('\n').pop()!.split(' ').map(Number);
  return { datagrams, bad, disorder, bytes };
}

/** What {@link udpTransfer} must deliver: every datagram, intact, in order. */
const udpIntact = (count: number, size: number): UdpSeen => ({ datagrams: count, bad: 0, disorder: 0, bytes: (count - 1) * size + Math.floor(size / 2) + 1 });

/** Sends `size` seeded random bytes over TCP from side `from` to the other side; returns what each end saw ("<bytes> <sha256>"). */
async function tcpTransfer(topo: SmokeTopology, from: number, size: number, family: 4 | 6 = 4): Promise<{ sent: string; received: string }> {
  const to = 1 - from;
  const address = family === 4 ? SIDES[to].overlay : SIDES[to].overlay6;
  const sink = nsRun(topo.ns[to], ['python3', '-c', TCP_SINK, address], 60_000);
  let sent = '';
  for (let attempt = 0; attempt < 50 && sent === ''; attempt++) {
    await new Promise((r) => setTimeout(r, 100));
    sent = await nsRun(topo.ns[from], ['python3', '-c', TCP_SOURCE, address, String(size)], 60_000).catch(() => '');
  }
  const received = (await sink).trim().split('\n').pop()!;
  return { sent: sent.trim(), received };
}

describe.skipIf(!ready)('native datapaths back to back over a veth underlay', () => {
  let topo: SmokeTopology;

  beforeAll(async () => {
    topo = await SmokeTopology.create(`${runPrefix()}ni`);
    await topo.addNativeOverlay();
  });

  afterAll(async () => {
    await topo?.destroy();
  });

  const counters = (side: number): Promise<DatapathCounters> => topo.peers[side]!.command<DatapathCounters>('counters');

  it('carries ping across in both directions and counts it', async () => {
    const before = [await counters(0), await counters(1)];
    await nsRun(topo.ns[0], ['ping', '-c', '5', '-i', '0.05', '-W', '2', SIDES[1].overlay]);
    await nsRun(topo.ns[1], ['ping', '-c', '5', '-i', '0.05', '-W', '2', SIDES[0].overlay]);
    const after = [await counters(0), await counters(1)];
    for (const side of [0, 1]) {
      expect(after[side]!.tx.packets - before[side]!.tx.packets).toBeGreaterThanOrEqual(10);
      expect(after[side]!.rx.packets - before[side]!.rx.packets).toBeGreaterThanOrEqual(10);
      expect(after[side]!.drops.udp_send).toBe(0);
      expect(after[side]!.drops.tap_write).toBe(0);
    }
  });

  it('carries IPv6: neighbour discovery answered by the proxy, ping, and a TCP transfer through TSO6/GRO', async () => {
    const before = await counters(0);
    await nsRun(topo.ns[0], ['ping', '-6', '-c', '3', '-i', '0.05', '-W', '2', SIDES[1].overlay6]);
    const { sent, received } = await tcpTransfer(topo, 0, 4 << 20, 6);
    expect(received.split(' ')[0]).toBe(String(4 << 20));
    expect(sent).toBe(received);
    const after = await counters(0);
    expect(after.ndReplies).toBeGreaterThan(before.ndReplies);
    const neigh = await nsRun(topo.ns[0], ['ip', '-6', 'neigh', 'show', SIDES[1].overlay6]);
    expect(neigh).toContain(SIDES[1].mac);
  });

  it('mirrors both directions to a capture listener while enabled', async () => {
    type Captured = { egress: number; ingress: number; vteps: string[] };
    await topo.peers[0]!.command('capture on');
    await nsRun(topo.ns[0], ['ping', '-c', '3', '-i', '0.05', '-W', '2', SIDES[1].overlay]);
    let seen = await topo.peers[0]!.command<Captured>('captured');
    for (let i = 0; i < 50 && seen.ingress < 3; i++) {
      await new Promise((r) => setTimeout(r, 20));
      seen = await topo.peers[0]!.command<Captured>('captured');
    }
    expect(seen.egress).toBeGreaterThanOrEqual(3);
    expect(seen.ingress).toBeGreaterThanOrEqual(3);
    expect(seen.vteps).toContain(SIDES[1].underlay);
    await topo.peers[0]!.command('capture off');
    await nsRun(topo.ns[0], ['ping', '-c', '2', '-i', '0.05', '-W', '2', SIDES[1].overlay]);
    await new Promise((r) => setTimeout(r, 100));
    const later = await topo.peers[0]!.command<Captured>('captured');
    expect(later.egress + later.ingress).toBeLessThanOrEqual(seen.egress + seen.ingress + 1); // at most one in flight when it was turned off
  });

  it('never blocks forwarding on a stalled capture listener: the full punt queue is counted as punt_overflow', async () => {
    const before = await counters(1);
    await topo.peers[1]!.command('capture stall');
    const { sent, received } = await tcpTransfer(topo, 0, 4 << 20);
    await topo.peers[1]!.command('capture off');
    expect(sent).toBe(received);
    const after = await counters(1);
    expect(after.drops.punt_overflow).toBeGreaterThan(before.drops.punt_overflow);
  });

  it('counts garbage and truncated datagrams at the data port as drops and keeps forwarding', async () => {
    const before = await counters(0);
    const send = async (payload: Buffer): Promise<void> => {
      const r = await topo.peers[1]!.command<{ sent: boolean; error?: string }>(`send ${SIDES[0].underlay} 4789 ${payload.toString('hex')}`);
      expect(r.sent, r.error).toBe(true);
    };
    await send(Buffer.from('0800', 'hex')); // truncated
    await send(Buffer.alloc(0)); // empty
    await send(vxlan(SMOKE_VNI, innerFrame(SIDES[1].mac), 0x00)); // no I flag
    await send(vxlan(SMOKE_VNI + 1, innerFrame(SIDES[1].mac))); // VNI not joined
    await send(vxlan(SMOKE_VNI, innerFrame('02:42:c6:13:00:99'))); // source MAC not of that VTEP
    await send(Buffer.from('garbage, not VXLAN: flags byte 0x67 lacks the I bit'));
    const expected = { malformed: 2, bad_vxlan: 2, unknown_vni: 1, spoofed_src: 1 };
    const dropped = (c: DatapathCounters): number => Object.keys(expected).reduce((n, r) => n + c.drops[r as keyof typeof expected], 0);
    let after = await counters(0);
    for (let i = 0; i < 50 && dropped(after) - dropped(before) < 6; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = await counters(0);
    }
    for (const [reason, n] of Object.entries(expected)) {
      expect(after.drops[reason as keyof typeof expected] - before.drops[reason as keyof typeof expected], reason).toBe(n);
    }
    expect(after.rx.packets).toBe(before.rx.packets);
    await nsRun(topo.ns[0], ['ping', '-c', '2', '-i', '0.05', '-W', '2', SIDES[1].overlay]);
  });

  it('moves a multi-megabyte TCP transfer intact through TSO, UDP GSO and GRO', async () => {
    const size = 8 << 20;
    const before = [await counters(0), await counters(1)];
    const { sent, received } = await tcpTransfer(topo, 0, size);
    expect(sent).toBe(received);
    const [bytes, digest] = received.split(' ');
    expect(Number(bytes)).toBe(size);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);

    const sender = await topo.peers[0]!.command<OffloadStats>('offloads');
    const receiver = await topo.peers[1]!.command<OffloadStats>('offloads');
    expect(sender.tsoFrames).toBeGreaterThan(0);
    expect(sender.tsoSegments).toBeGreaterThan(sender.tsoFrames);
    if (sender.gsoEnabled) expect(sender.gsoDatagrams).toBeGreaterThan(sender.gsoSends);
    expect(receiver.groSegments).toBeGreaterThan(receiver.groFrames);
    const after = [await counters(0), await counters(1)];
    // The kernel's own multicast (MLD, router solicitations) is dropped by design; these must not move.
    const faults = ['malformed', 'no_fdb', 'too_big', 'unknown_vtep', 'spoofed_src', 'tap_write', 'udp_send'] as const;
    for (const side of [0, 1]) {
      for (const reason of faults) expect(after[side]!.drops[reason] - before[side]!.drops[reason], `${reason} on side ${side}`).toBe(0);
    }
    expect(after[1]!.rx.bytes - before[1]!.rx.bytes).toBeGreaterThan(size);
  });

  it('coalesces UDP datagrams into UDP GSO writes and cuts a sender\'s UDP_SEGMENT trains: every datagram intact, in order', async () => {
    const offloads = (side: number): Promise<OffloadStats> => topo.peers[side]!.command<OffloadStats>('offloads');
    const before = [await offloads(0), await offloads(1), await counters(0), await counters(1)] as const;
    for (const family of [4, 6] as const) expect(await udpTransfer(topo, 0, 2000, 1200, 'single', family)).toEqual(udpIntact(2000, 1200));
    const middle = [await offloads(0), await offloads(1)];
    expect(await udpTransfer(topo, 0, 2000, 1200, 'gso')).toEqual(udpIntact(2000, 1200));
    const after = [await offloads(0), await offloads(1), await counters(0), await counters(1)] as const;
    const joined = { frames: middle[1]!.groUdpFrames - before[1].groUdpFrames, datagrams: middle[1]!.groUdpSegments - before[1].groUdpSegments };
    const cut = { frames: after[0].usoFrames - middle[0]!.usoFrames, datagrams: after[0].usoSegments - middle[0]!.usoSegments };
    if (after[0].usoEnabled) {
      expect(joined.frames).toBeGreaterThan(0);
      expect(joined.datagrams).toBeGreaterThan(joined.frames);
      expect(cut.frames).toBeGreaterThan(0);
      expect(cut.datagrams).toBeGreaterThan(cut.frames);
    } else { // a kernel before 6.2: datagrams go one by one
      expect([joined.frames, cut.frames]).toEqual([0, 0]);
    }
    for (const reason of ['malformed', 'tap_write', 'udp_send'] as const) {
      for (const side of [2, 3] as const) expect(after[side].drops[reason] - before[side].drops[reason], reason).toBe(0);
    }
  });
});

describe.skipIf(!ready)('native datapath against a kernel vxlan device', () => {
  let topo: SmokeTopology;

  beforeAll(async () => {
    topo = await SmokeTopology.create(`${runPrefix()}nk`);
    await topo.addMixedOverlay();
  });

  afterAll(async () => {
    await topo?.destroy();
  });

  it('interoperates: ping and TCP both ways, the kernel accepting our segments and checksums', async () => {
    await nsRun(topo.ns[0], ['ping', '-c', '3', '-i', '0.05', '-W', '2', SIDES[1].overlay]);
    await nsRun(topo.ns[1], ['ping', '-c', '3', '-i', '0.05', '-W', '2', SIDES[0].overlay]);
    for (const from of [0, 1]) {
      const { sent, received } = await tcpTransfer(topo, from, 4 << 20);
      expect(received.split(' ')[0]).toBe(String(4 << 20));
      expect(sent).toBe(received);
    }
    const c = await topo.peers[0]!.command<DatapathCounters>('counters');
    // A kernel sender's tunnel GSO may arrive as whole super-frames: count bytes, not packets.
    expect(c.rx.bytes).toBeGreaterThan(4 << 20);
    expect(c.tx.bytes).toBeGreaterThan(4 << 20);
    for (const reason of ['malformed', 'unknown_vtep', 'spoofed_src', 'tap_write', 'udp_send'] as const) expect(c.drops[reason], reason).toBe(0);
  });
});

describe.skipIf(!ready).each([
  { udpOffload: true, what: 'UDP GSO on the TAP where the kernel has it' },
  { udpOffload: false, what: 'UDP offload off, as on a kernel before 6.2' },
])('native datapath against a kernel vxlan device, UDP: $what', ({ udpOffload }) => {
  let topo: SmokeTopology;

  beforeAll(async () => {
    topo = await SmokeTopology.create(`${runPrefix()}nu${udpOffload ? 1 : 0}`);
    await topo.addMixedOverlay({ udpOffload });
  });

  afterAll(async () => {
    await topo?.destroy();
  });

  it('the kernel takes the datagrams we send, from UDP_SEGMENT trains too, and we deliver its, singly or GSO', async () => {
    expect(await udpTransfer(topo, 0, 1000, 1200, 'gso')).toEqual(udpIntact(1000, 1200));
    for (const mode of ['single', 'gso'] as const) expect(await udpTransfer(topo, 1, 1000, 1200, mode), mode).toEqual(udpIntact(1000, 1200));
    const offloads = await topo.peers[0]!.command<OffloadStats>('offloads');
    if (!udpOffload) expect(offloads.usoEnabled).toBe(false);
    // Without USO our container's trains reach us cut by the kernel; with it, whole, and we cut them.
    expect(offloads.usoFrames > 0).toBe(offloads.usoEnabled);
    // The kernel's trains arrive whole (tunnel GSO): one VXLAN header, then a UDP super-frame, written as UDP GSO or cut here.
    expect(offloads.usoFramesIn).toBeGreaterThan(0);
    const c = await topo.peers[0]!.command<DatapathCounters>('counters');
    for (const reason of ['malformed', 'unknown_vtep', 'spoofed_src', 'tap_write', 'udp_send'] as const) expect(c.drops[reason], reason).toBe(0);
  });
});

describe.skipIf(!ready)('native datapaths over an IPv6 underlay', () => {
  let topo: SmokeTopology;

  beforeAll(async () => {
    topo = await SmokeTopology.create(`${runPrefix()}n6`, 6);
    await topo.addNativeOverlay();
  });

  afterAll(async () => {
    await topo?.destroy();
  });

  it('carries ping and a TCP transfer with IPv6 VTEPs (overlay MTU 1430)', async () => {
    await nsRun(topo.ns[0], ['ping', '-c', '3', '-i', '0.05', '-W', '2', SIDES[1].overlay]);
    await nsRun(topo.ns[0], ['ping', '-c', '2', '-W', '2', '-M', 'do', '-s', String(1430 - 28), SIDES[1].overlay]);
    const { sent, received } = await tcpTransfer(topo, 0, 4 << 20);
    expect(received.split(' ')[0]).toBe(String(4 << 20));
    expect(sent).toBe(received);
    const c = await topo.peers[1]!.command<DatapathCounters>('counters');
    expect(c.rx.bytes).toBeGreaterThan(4 << 20);
    for (const reason of ['malformed', 'unknown_vtep', 'spoofed_src', 'tap_write', 'udp_send'] as const) expect(c.drops[reason], reason).toBe(0);
  });
});
