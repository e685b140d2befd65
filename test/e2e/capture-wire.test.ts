/**
 * `overlayctl capture --outer` shows the packets as they were on the wire
 * (issue 12), on three namespace hosts, once per data path (native with two
 * workers — GSO trains and reuseport groups across threads; one worker runs
 * the same code on one thread — and js):
 *
 * - plain VXLAN: next to a tcpdump on host 1's underlay interface, every flow
 *   (addresses, real hashed source port, destination port) carries the same
 *   bytes in both captures — pings, UDP from several source ports, a TCP
 *   transfer whose GSO trains the capture holds datagram by datagram;
 * - encrypted networks (ESP in UDP, and IP protocol 50): the capture holds the
 *   ESP exactly as tcpdump saw it, no plaintext, and tshark decrypts it with
 *   the `--esp-sa` file (mode 0600) to the containers' ICMP;
 * - filters: `--host` (plain; encrypted, matched before sealing and after
 *   opening) and `--vtep`, alone and with sessions sharing a network;
 * - bad options are refused with one clear line, the SA file only for root.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Topology } from '../../src/testkit/topology.js';
import type { PacketCapture } from '../../src/testkit/capture.js';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';
import { decodeEthernet, decodeIPv4, IP_PROTOCOL, LINKTYPE_RAW, readPcap } from '../../src/wire/index.js';
import { nsExec, ping, run, startCluster, tearDown, waitFor, type AgentHandle, type Endpoint } from '../../src/testkit/agents.js';
import { newGossipKey } from './encrypted-support.js';
import { CaptureSession, flowStreams, tsharkInnerIcmp, vniOf, wirePackets, type WirePacket } from './capture-wire-support.js';

const ready = requirement(haveRoot() && haveTools('ip', 'ping', 'tcpdump', 'tshark', 'setpriv'), 'the wire-capture e2e tests need root, ip, ping, tcpdump, tshark and setpriv');
const TRANSFER = join(import.meta.dirname, 'fixtures/transfer.mjs');
const PATTERN = 'c0ffee15deadbeef';

/** Endpoints: network, host, address. */
const ENDPOINTS = {
  a: ['blue', 1, '198.19.40.10'],
  b: ['blue', 2, '198.19.40.11'],
  b2: ['blue', 2, '198.19.40.12'],
  c: ['blue', 3, '198.19.40.13'],
  d: ['red', 1, '198.19.41.10'],
  e: ['red', 2, '198.19.41.11'],
  e2: ['red', 2, '198.19.41.12'],
  f: ['redip', 1, '198.19.42.10'],
  g: ['redip', 2, '198.19.42.11'],
} as const;
type Name = keyof typeof ENDPOINTS;

/** node -e program: one UDP datagram to HOST:PORT from each source port from FIRST on, COUNT of them. */
const UDP_FLOWS = `
const dgram = require('dgram');
const [host, port, first, count] = process.argv.slice(1).map((v, i) => (i ? Number(v) : v));
let left = count;
for (let i = 0; i < count; i++) {
  const s = dgram.createSocket('udp4');
  s.bind(first + i, () => s.send(Buffer.alloc(200, i), port, host, () => { s.close(); if (--left === 0) process.exit(0); }));
}
`;

describe.skipIf(!ready).each([
  ['native', 2],
  ['js', 1],
] as const)('outer capture as on the wire, %s data path, %i worker(s)', (datapath, workers) => {
  let topo: Topology | undefined;
  let agents: AgentHandle[] = [];
  let dir: string;
  const ep = {} as Record<Name, Endpoint>;
  const vni: Record<string, number> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ovt-wirecap-'));
    topo = await Topology.create({ hosts: 3 });
    // No VTEP probes (overlayctl peers): the agent sends them itself, not from a TAP, and an outer capture does not hold
    // the sent ones (docs/debugging.md), while tcpdump would; the comparison is of the containers' traffic.
    const extraArgs = ['--peer-probe-interval', '0', ...(datapath === 'native' ? ['--workers', String(workers)] : [])];
    agents = await startCluster(topo, { datapath, gossipKey: newGossipKey(), extraArgs }, [1, 2, 3]);
    vni.blue = (await agents[0].ctl<{ vni: number }>('network', 'create', 'blue', '--subnet', '198.19.40.0/24')).vni;
    vni.red = (await agents[0].ctl<{ vni: number }>('network', 'create', 'red', '--subnet', '198.19.41.0/24', '--encrypted', '--esp-carrier', 'udp')).vni;
    vni.redip = (await agents[0].ctl<{ vni: number }>('network', 'create', 'redip', '--subnet', '198.19.42.0/24', '--encrypted', '--esp-carrier', 'ip')).vni;
    await waitFor('the networks on every agent', async () => {
      for (const a of agents) if ((await a.ctl<unknown[]>('network', 'ls')).length !== 3) return false;
      return true;
    }, 15_000);
    for (const [name, [net, h, ip]] of Object.entries(ENDPOINTS)) {
      const c = await topo.container(h, name);
      ep[name as Name] = await agents[h - 1].ctl<Endpoint>('endpoint', 'attach', net, '--netns', c.ns, '--ip', ip);
    }
    // Tables and SAs everywhere: every pair this test uses answers.
    for (const [from, to] of [['a', 'b'], ['a', 'b2'], ['a', 'c'], ['d', 'e'], ['d', 'e2'], ['f', 'g']] as const) {
      await waitFor(`${from} reaches ${to}`, async () => (await run(['ip', 'netns', 'exec', ep[from].netns, 'ping', '-c', '1', '-W', '1', ep[to].ip], 10_000)).code === 0, 30_000);
    }
  }, 240_000);

  afterAll(async () => {
    await tearDown(topo, agents);
    rmSync(dir, { recursive: true, force: true });
  });

  const host = (i: number) => topo!.host(i);
  /**
   * Starts `overlayctl capture` of `args` on host 1 and waits until its session is open. `windowS`: how long the
   * traffic may take on a busy machine (a flow cut by the window's end would differ from tcpdump's); the session ends
   * once its traffic is in (CaptureSession.finish).
   */
  const capture = (file: string, windowS: number, ...args: string[]) => CaptureSession.start(agents[0], file, windowS, args);
  /** Whether a capture so far holds every flow tcpdump saw so far (those that `keep` takes), byte for byte. */
  const sameAsWire = (td: PacketCapture, keep: (p: WirePacket) => boolean = () => true) => (pcap: Buffer) =>
    isDeepStrictEqual(flowStreams(wirePackets(pcap)), flowStreams(wirePackets(td.sofar()).filter(keep)));
  /** Whether a capture so far holds at least `n` packets. */
  const atLeast = (n: number) => (pcap: Buffer) => readPcap(pcap).packets.length >= n;
  /** tcpdump on host 1's underlay interface, with room for a burst while the machine is busy (it must not drop any). */
  const underlay = (filter: string) => topo!.capture(host(1).ns, host(1).iface, filter, { durationMs: 60_000, bufferKiB: 65536 });
  /** Host 1's drops the comparison depends on: copies the capture lost, datagrams the socket refused (captured, never sent). */
  const captureDrops = async () => {
    const { drops } = await agents[0].ctl<{ drops: Record<string, number> }>('stats');
    return { punt_overflow: drops.punt_overflow ?? 0, udp_send: drops.udp_send ?? 0 };
  };

  it('plain VXLAN: every flow carries the same bytes, real source ports included, as tcpdump on the underlay sees', async () => {
    const file = join(dir, 'blue.pcap');
    const dropsBefore = await captureDrops();
    const td = await underlay('udp port 4789');
    const blue = (p: WirePacket) => vniOf(p.data) === vni.blue;
    const session = await capture(file, 20, 'blue', '--outer');
    await ping(ep.a.netns, ep.b.ip, ['-c', '3', '-i', '0.2']);
    await ping(ep.a.netns, ep.c.ip, ['-c', '3', '-i', '0.2']);
    await nsExec(ep.a.netns, [process.execPath, '-e', UDP_FLOWS, ep.b.ip, '9', '41000', '8']); // throws when it fails
    const server = topo!.spawn(ep.b.netns, [process.execPath, TRANSFER, 'serve', ep.b.ip, '5001']);
    await server.waitForLine(/^listening$/, 10_000);
    const sent = await run(['ip', 'netns', 'exec', ep.a.netns, process.execPath, TRANSFER, 'send', ep.b.ip, '5001', String(512 << 10)]);
    expect(sent.code, sent.stderr).toBe(0);
    await server.waitForLine(new RegExp(`^${sent.stdout.trim().split('\n').pop()!}$`), 30_000); // the server's hash and length: the same bytes arrived
    await session.finish(sameAsWire(td, blue));
    await new Promise((r) => setTimeout(r, 300));
    const wire = wirePackets(await td.stop()).filter(blue);
    expect(await captureDrops()).toEqual(dropsBefore);

    expect(readPcap(readFileSync(file)).linkType).toBe(LINKTYPE_RAW);
    const mine = wirePackets(readFileSync(file));
    expect(mine.every((p) => p.proto === IP_PROTOCOL.UDP && vniOf(p.data) === vni.blue)).toBe(true);
    // Datagrams as on the wire: GSO trains cut into the datagrams they carry, none over the underlay MTU.
    expect(mine.every((p) => p.data.length + 28 <= 1500)).toBe(true);
    // The real hashed source ports: the eight UDP flows leave from several of them, none the data port.
    const egress = mine.filter((p) => p.src === host(1).addr4);
    expect(new Set(egress.map((p) => p.sport)).size).toBeGreaterThan(1);
    expect(egress.some((p) => p.sport === 4789)).toBe(false);
    expect(flowStreams(mine)).toEqual(flowStreams(wire));
    // tcpdump reads it, and so does tshark.
    expect((await run(['tcpdump', '-nr', file])).stdout).toMatch(new RegExp(`VXLAN.*vni ${vni.blue}`));
  }, 120_000);

  it.each([
    ['red', 'udp port 4500', 'd', 'e'],
    ['redip', 'ip proto 50', 'f', 'g'],
  ] as const)('encrypted (%s): ESP as sealed, no plaintext; tshark decrypts it with the --esp-sa file', async (net, filter, from, to) => {
    const file = join(dir, `${net}.pcap`);
    const saFile = join(dir, `${net}.esp_sa`);
    const td = await underlay(filter);
    const session = await capture(file, 8, net, '--outer', '--esp-sa', saFile);
    await ping(ep[from].netns, ep[to].ip, ['-c', '4', '-i', '0.2', '-p', PATTERN]);
    await session.finish((pcap) => atLeast(8)(pcap) && sameAsWire(td)(pcap));
    await new Promise((r) => setTimeout(r, 300));
    const wire = wirePackets(await td.stop());

    const bytes = readFileSync(file);
    const mine = wirePackets(bytes);
    expect(mine.length).toBeGreaterThanOrEqual(8);
    expect(mine.every((p) => (net === 'red' ? p.proto === IP_PROTOCOL.UDP && p.dport === 4500 : p.proto === IP_PROTOCOL.ESP))).toBe(true);
    expect(bytes.includes(Buffer.from(PATTERN, 'hex'))).toBe(false);
    expect(flowStreams(mine)).toEqual(flowStreams(wire));

    expect(statSync(saFile).mode & 0o777).toBe(0o600);
    const icmp = await tsharkInnerIcmp(file, saFile);
    expect(icmp.filter((l) => l === `${ep[from].ip} ${ep[to].ip} 8`).length).toBe(4);
    expect(icmp.filter((l) => l === `${ep[to].ip} ${ep[from].ip} 0`).length).toBe(4);
  }, 120_000);

  it('--host takes only the frames of that address: plain, and encrypted (before sealing, after opening)', async () => {
    const plain = join(dir, 'host-blue.pcap');
    const sealed = join(dir, 'host-red.pcap');
    const saFile = join(dir, 'host-red.esp_sa');
    const sessions = [await capture(plain, 10, 'blue', '--outer', '--host', ep.b.ip), await capture(sealed, 10, 'red', '--outer', '--host', ep.e.ip, '--esp-sa', saFile)];
    for (const [from, to] of [['a', 'b'], ['a', 'b2'], ['d', 'e'], ['d', 'e2']] as const) await ping(ep[from].netns, ep[to].ip, ['-c', '3', '-i', '0.2']);
    await Promise.all(sessions.map((s) => s.finish(atLeast(6))));

    const inner = wirePackets(readFileSync(plain)).map((p) => innerIps(p));
    expect(inner.length).toBeGreaterThanOrEqual(6);
    expect(inner.every((ips) => ips.includes(ep.b.ip))).toBe(true);
    const icmp = await tsharkInnerIcmp(sealed, saFile);
    expect(icmp.length).toBeGreaterThanOrEqual(6);
    expect(icmp.every((l) => l.split(' ').includes(ep.e.ip))).toBe(true);
  }, 120_000);

  it('--vtep takes only the packets of that VTEP, inner and outer sessions sharing the network', async () => {
    const outer = join(dir, 'vtep-outer.pcap');
    const inner = join(dir, 'vtep-inner.pcap');
    const everything = join(dir, 'vtep-all.pcap');
    const sessions = [
      await capture(outer, 10, 'blue', '--outer', '--vtep', host(3).addr4!),
      await capture(inner, 10, 'blue', '--vtep', host(3).addr4!),
      await capture(everything, 10, 'blue', '--outer'),
    ];
    for (const to of ['b', 'c'] as const) await ping(ep.a.netns, ep[to].ip, ['-c', '3', '-i', '0.2']);
    await Promise.all(sessions.map((s, i) => s.finish(atLeast(i === 2 ? 12 : 6))));

    const o = wirePackets(readFileSync(outer));
    expect(o.length).toBeGreaterThanOrEqual(6);
    expect(o.every((p) => [p.src, p.dst].includes(host(3).addr4!))).toBe(true);
    const frames = readPcap(readFileSync(inner)).packets.map((p) => p.data);
    expect(frames.length).toBeGreaterThanOrEqual(6);
    // IPv4 between a and c, or a unicast ARP refresh of a's entry for c: all forwarded to or received from host 3.
    expect(frames.every((f) => ipv4Of(f)?.includes(ep.c.ip))).toBe(true);
    // The unfiltered session beside them saw both VTEPs.
    const all = wirePackets(readFileSync(everything));
    expect(new Set(all.map((p) => (p.src === host(1).addr4 ? p.dst : p.src)))).toEqual(new Set([host(2).addr4, host(3).addr4]));
  }, 120_000);

  it('refuses bad options with one clear line, and the SA file to anyone but root', async () => {
    const x = join(dir, 'bad.pcap');
    const refused = async (args: string[], message: string) => {
      const r = await agents[0].ctlRaw('capture', 'blue', '-w', x, '--count', '1', '--duration', '1', ...args);
      expect([r.code, r.stderr.trim()]).toEqual([1, `overlayctl: ${message}`]);
    };
    await refused(['--host', 'nope'], 'capture --host: not an IPv4 or IPv6 address: "nope"');
    await refused(['--vtep', '198.18.0'], 'capture --vtep: not an IPv4 or IPv6 address: "198.18.0"');
    await refused(['--esp-sa', join(dir, 'x.esp_sa')], '--esp-sa needs --outer: only the outer packets are encrypted');
    await refused(['--outer', '--esp-sa', join(dir, 'x.esp_sa')], '--esp-sa: network blue is not encrypted: its outer packets are plain VXLAN, there are no SAs to write');
    expect(existsSync(join(dir, 'x.esp_sa'))).toBe(false);

    const sa = join(dir, 'nobody.esp_sa');
    chmodSync(dirname(agents[0].socket), 0o755); // the socket itself stays 0660, group root
    const asNobody = ['setpriv', '--reuid=65534', '--regid=0', '--clear-groups', process.execPath, agents[0].ctlPath, '--socket', agents[0].socket];
    const r = await run([...asNobody, 'capture', 'red', '-w', join(dir, 'nobody.pcap'), '--outer', '--esp-sa', sa, '--count', '1']);
    expect([r.code, r.stderr.trim()]).toEqual([1, "overlayctl: --esp-sa writes the network's keys: only root may read them (only root may see the keys (--show-secrets))"]);
    expect(existsSync(sa)).toBe(false);
  }, 60_000);
});

/** The inner IPv4 source and destination of a captured VXLAN payload. */
function innerIps(p: WirePacket): string[] {
  return ipv4Of(p.data.subarray(8)) ?? [];
}

/** Source and destination of an Ethernet frame's IPv4 packet (ARP: sender and target); undefined for anything else. */
function ipv4Of(frame: Buffer): string[] | undefined {
  const eth = decodeEthernet(frame);
  const l3 = eth.headerLength;
  if (eth.etherType === 0x0806 && frame.length >= l3 + 28) return [[...frame.subarray(l3 + 14, l3 + 18)].join('.'), [...frame.subarray(l3 + 24, l3 + 28)].join('.')];
  if (eth.etherType !== 0x0800) return undefined;
  const h = decodeIPv4(frame, l3);
  return [h.src.join('.'), h.dst.join('.')];
}
