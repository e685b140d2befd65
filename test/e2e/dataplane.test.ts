/**
 * Two namespace hosts, two containers each, one overlay — run once with each
 * data path: every pair pings over IPv4 and IPv6, a 50 MB TCP transfer
 * arrives intact, ARP/ND never crosses the underlay, the MTU cases behave as
 * docs/datapath.md says, and garbage on the data port is counted, not fatal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Topology } from '../../src/testkit/topology.js';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';
import { decodeEthernet, decodeIPv4, decodeIPv6, decodeUdp, decodeVxlan, LINKTYPE_ETHERNET, LINKTYPE_RAW, readPcap } from '../../src/wire/index.js';
import { crossPeer, nsExec, ping, pingRaw, run, startAgents, tearDown, type AgentHandle, type Endpoint } from '../../src/testkit/agents.js';

const ready = requirement(haveRoot() && haveTools('ip', 'ping', 'tcpdump'), 'end-to-end tests need root, ip, ping and tcpdump');
const TRANSFER = join(import.meta.dirname, 'fixtures/transfer.mjs');

interface Stats {
  tx: { packets: number; bytes: number };
  rx: { packets: number; bytes: number };
  fragments: number;
  icmpErrors: number;
  drops: Record<string, number>;
}

describe.skipIf(!ready).each(['native', 'js'] as const)('two hosts, %s data path', (datapath) => {
  let topo: Topology;
  let agents: AgentHandle[];
  const eps: Endpoint[] = [];
  const ns: Record<string, string> = {};

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 3 });
    agents = await startAgents(topo, { datapath }).catch(async (e) => {
      await topo.destroy();
      throw e;
    });
    for (const a of agents.slice(0, 2)) {
      await a.ctl('network', 'create', 'blue', '--subnet', '198.19.1.0/24', '--subnet', '2001:db8:1::/64', '--vni', '4100');
    }
    // Without gossip each agent allocates on its own: give addresses by hand.
    for (const [host, name, n] of [
      [1, 'a', 2],
      [1, 'b', 3],
      [2, 'c', 4],
      [2, 'd', 5],
    ] as const) {
      const c = await topo.container(host, name);
      ns[name] = c.ns;
      const ips = ['--ip', `198.19.1.${n}`, '--ip', `2001:db8:1::${n}`];
      eps.push(await agents[host - 1].ctl<Endpoint>('endpoint', 'attach', 'blue', '--netns', c.ns, ...ips));
    }
    await crossPeer(agents.slice(0, 2), 'blue', eps);
  }, 120_000);

  afterAll(() => tearDown(topo, agents));

  it('gives endpoints the MAC 02:42 + IPv4 and the overlay MTU', async () => {
    expect(eps[0].mac).toBe('02:42:c6:13:01:02');
    const link = JSON.parse((await nsExec(ns.a, ['ip', '-json', 'link', 'show', 'eth0'])).stdout)[0];
    expect(link.mtu).toBe(1450);
    expect(link.address).toBe(eps[0].mac);
  });

  it('every pair pings over IPv4 and IPv6', async () => {
    // The sources at once, each pinging the others in turn.
    await Promise.all(
      eps.map(async (from) => {
        for (const to of eps) {
          if (from === to) continue;
          await ping(from.netns, to.ips[0]);
          await ping(from.netns, to.ips[1]);
        }
      }),
    );
    const s = await agents[0].ctl<Stats>('stats');
    expect(s.tx.packets).toBeGreaterThan(0);
    expect(s.rx.packets).toBeGreaterThan(0);
  });

  it('never lets ARP or neighbour discovery onto the underlay', async () => {
    // A switch port sees the frames forwarded to and from host 1 (the bridge device itself would not).
    const cap = await topo.capture(topo.switchNs, topo.names.switchPort(1), 'udp port 4789', { durationMs: 30_000 });
    for (const n of [ns.a, ns.c]) await nsExec(n, ['ip', 'neigh', 'flush', 'all']);
    await ping(ns.a, eps[2].ips[0]);
    await ping(ns.a, eps[3].ips[1]);
    await ping(ns.c, eps[1].ips[1]);
    await new Promise((r) => setTimeout(r, 300)); // let tcpdump write the last replies
    const pcap = readPcap(await cap.stop());
    const inner = pcap.packets.map((p) => innerEtherType(p.data));
    expect(inner.length).toBeGreaterThanOrEqual(8); // the pings above crossed the underlay: 12 packets

    expect(inner.filter((t) => t === 'arp' || t === 'nd')).toEqual([]);
  });

  it('carries a 50 MB TCP transfer intact', async () => {
    const server = topo.spawn(ns.c, [process.execPath, TRANSFER, 'serve', eps[2].ip, '5001']);
    await server.waitForLine(/listening/, 10_000);
    const sent = await nsExec(ns.a, [process.execPath, TRANSFER, 'send', eps[2].ip, '5001', String(50 << 20)], { timeoutMs: 120_000 });
    const got = await server.waitForLine(/^[0-9a-f]{64} \d+$/, 60_000);
    expect(got[0]).toBe(sent.stdout.trim());
    expect(got[0].endsWith(` ${50 << 20}`)).toBe(true);
  }, 180_000);

  it('fragments IPv4 without DF, answers DF with fragmentation-needed, IPv6 with packet-too-big', async () => {
    const before = await agents[0].ctl<Stats>('stats');
    await ping(ns.b, eps[2].ip, ['-s', '1422', '-M', 'do']); // exactly 1450 bytes of IP
    await nsExec(ns.b, ['ip', 'link', 'set', 'eth0', 'mtu', '1500']);
    await ping(ns.b, eps[2].ip, ['-s', '1472', '-M', 'dont']); // 1500 bytes, fragmented by the agent
    const mid = await agents[0].ctl<Stats>('stats');
    expect(mid.fragments - before.fragments).toBeGreaterThanOrEqual(4);

    const df = await pingRaw(ns.b, eps[3].ip, ['-s', '1423', '-M', 'do']);
    expect(df.code).not.toBe(0);
    expect(df.stdout + df.stderr).toMatch(/mtu ?= ?1450/);
    const v6 = await pingRaw(ns.b, eps[3].ips[1], ['-s', '1403', '-M', 'do']);
    expect(v6.stdout + v6.stderr).toMatch(/mtu ?= ?1450/i);
    await ping(ns.b, eps[3].ips[1], ['-s', '1402', '-M', 'do']);
    const after = await agents[0].ctl<Stats>('stats');
    expect(after.icmpErrors - mid.icmpErrors).toBeGreaterThanOrEqual(2);
    expect(after.drops.too_big - mid.drops.too_big).toBeGreaterThanOrEqual(2);
  });

  it('captures a network\'s frames to pcap, inner or as the VXLAN datagrams between hosts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovt-capture-'));
    try {
      const inner = join(dir, 'inner.pcap');
      const outer = join(dir, 'outer.pcap');
      const captures = Promise.all([
        agents[0].ctlRaw('capture', 'blue', '-w', inner, '--duration', '7'),
        agents[0].ctlRaw('capture', 'blue', '-w', outer, '--outer', '--count', '2', '--duration', '20'),
      ]);
      await new Promise((r) => setTimeout(r, 500)); // both sessions are usually open by now
      // Pings over five seconds, so a session that opened late (a loaded machine: CI once opened it after 2 s) still sees some.
      await ping(ns.a, eps[2].ip, ['-c', '12', '-i', '0.4']);
      for (const r of await captures) expect(r.code, r.stderr).toBe(0);

      const a = readPcap(readFileSync(inner));
      expect(a.linkType).toBe(LINKTYPE_ETHERNET);
      // Every frame of the network passes here, neighbour discovery included; the pings are among them.
      const echoes = a.packets.filter((p) => p.data.readUInt16BE(12) === 0x0800 && decodeIPv4(p.data, 14).protocol === 1);
      expect(echoes.length).toBeGreaterThanOrEqual(4); // 2 requests out, 2 replies in
      expect(decodeIPv4(echoes[0].data, 14).src.join('.')).toBe(eps[0].ip);

      const b = readPcap(readFileSync(outer));
      expect(b.linkType).toBe(LINKTYPE_RAW);
      const o = decodeIPv4(b.packets[0].data);
      expect(decodeUdp(b.packets[0].data, o.headerLength).dstPort).toBe(4789);
      expect(decodeVxlan(b.packets[0].data, o.headerLength + 8).vni).toBe(4100);
      // tcpdump reads both files.
      const td = await run(['tcpdump', '-nr', outer]);
      expect(td.stdout).toMatch(/VXLAN.*vni 4100/);

      const bad = await agents[0].ctlRaw('capture', 'nosuch', '-w', join(dir, 'x.pcap'), '--count', '1');
      expect([bad.code !== 0, bad.stderr.trim()]).toEqual([true, 'overlayctl: no network named nosuch']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts garbage, unknown VNIs and unknown sources on the data port and keeps forwarding', async () => {
    const target = agents[0].advertise;
    const before = await agents[0].ctl<Stats>('stats');
    const send = (hostNs: string, hexes: string[]) =>
      run(['ip', 'netns', 'exec', hostNs, process.execPath, '-e', SEND_UDP, target, '4789', ...hexes]);
    const good = '0800000000100400'; // I flag, VNI 4100
    const frame = `${eps[0].mac.replace(/:/g, '')}${eps[2].mac.replace(/:/g, '')}0800` + '45'.padEnd(80, '0');
    await send(topo.host(2).ns, ['', '08', '0000000000000000', good.slice(0, 8) + '00100500' + frame, '00' + good.slice(2) + frame, 'ff'.repeat(1400)]);
    await send(topo.host(3).ns, [good + frame]); // host 3 has no endpoints: unknown VTEP
    await new Promise((r) => setTimeout(r, 500));
    const after = await agents[0].ctl<Stats>('stats');
    const delta = (k: string) => (after.drops[k] ?? 0) - (before.drops[k] ?? 0);
    expect(delta('malformed')).toBeGreaterThanOrEqual(3);
    expect(delta('unknown_vni')).toBeGreaterThanOrEqual(1);
    expect(delta('bad_vxlan')).toBeGreaterThanOrEqual(1);
    expect(delta('unknown_vtep')).toBeGreaterThanOrEqual(1);
    await ping(ns.a, eps[2].ip);
  });
});

/** node -e program: sends each hex argument after the first two as one UDP datagram. */
const SEND_UDP = `
const d = require('dgram').createSocket('udp4');
const [host, port, ...hex] = process.argv.slice(1);
let n = hex.length;
for (const h of hex) d.send(Buffer.from(h, 'hex'), Number(port), host, () => { if (--n === 0) d.close(); });
`;

/** Inner frame type of a captured VXLAN packet: 'arp', 'nd', 'other'. */
function innerEtherType(frame: Buffer): string {
  const eth = decodeEthernet(frame);
  let udpOff: number;
  if (eth.etherType === 0x0800) udpOff = eth.headerLength + decodeIPv4(frame, eth.headerLength).headerLength;
  else udpOff = eth.headerLength + 40;
  decodeUdp(frame, udpOff);
  const inner = decodeEthernet(frame, udpOff + 8 + 8);
  if (inner.etherType === 0x0806) return 'arp';
  if (inner.etherType === 0x86dd) {
    const ip6 = decodeIPv6(frame, udpOff + 16 + inner.headerLength);
    const type = frame[udpOff + 16 + inner.headerLength + 40];
    if (ip6.nextHeader === 58 && type >= 133 && type <= 137) return 'nd';
  }
  return 'other';
}
