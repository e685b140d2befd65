/**
 * The benchmark rows carry traffic the way they claim to: the kernel VXLAN
 * overlay sends VXLAN (VNI 4096, UDP 4789) between the hosts' underlay
 * addresses, the wireguard-go and Nebula overlays route container traffic
 * through their tunnels (UDP 51820, 4242), the overlayd row (as
 * `npm run bench` builds it) pings, and each row's CPU hook counts the time
 * its tunnel spends on a ping flood. Functional checks only; figures are
 * bench's job.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { haveNetns, haveTool, haveTools, requirement } from '../../src/testkit/ci.js';
import { listByPrefix } from '../../src/testkit/netns.js';
import { OVERLAYD } from '../../src/testkit/agents.js';
import { useTopology } from '../helpers/vitest-topology.js';
import { kernelVxlanOverlay } from '../../bench/lib/kernel-vxlan.js';
import { NEBULA_TOOLS, nebulaOverlay } from '../../bench/lib/nebula.js';
import { overlaydOverlay } from '../../bench/lib/overlayd.js';
import { wireguardOverlay } from '../../bench/lib/wireguard.js';
import type { BenchOverlay } from '../../bench/lib/overlay.js';
import { runPing } from '../../bench/lib/ping.js';
import { pcapRecords } from './pcap.js';

const ready = requirement(
  haveNetns() && haveTools('ping', 'tcpdump', 'bridge'),
  'benchmark row tests need root, iproute2 (ip, bridge), ping and tcpdump',
);
const haveWireguard = ready && requirement(haveTool('wireguard-go'), 'the wireguard-go row test needs wireguard-go');
const haveNebula = ready && requirement(haveTools(...NEBULA_TOOLS), 'the Nebula row test needs nebula and nebula-cert (Debian package nebula)');
const haveOverlayd = ready && requirement(existsSync(OVERLAYD), `the overlayd row test needs the build (${OVERLAYD}): npm run build`);

/** The row's CPU hook grows while a ping flood crosses its tunnel. */
async function expectCpuUnderFlood(overlay: BenchOverlay, exec: (ns: string, cmd: string[]) => Promise<unknown>): Promise<void> {
  const before = overlay.cpuSeconds?.() ?? Number.NaN;
  await exec(overlay.client.ns, ['ping', '-f', '-q', '-c', '2000', '-W', '1', overlay.server.addr4]);
  expect(overlay.cpuSeconds?.()).toBeGreaterThan(before);
}

describe.skipIf(!ready)('benchmark baselines and rows', () => {
  const topo = useTopology({ hosts: 2 });

  it('kernel VXLAN: containers reach each other as VXLAN VNI 4096 on UDP 4789', async () => {
    const overlay = await kernelVxlanOverlay(topo());
    try {
      const host2 = topo().host(2);
      const capture = await topo().capture(host2.ns, host2.iface, 'udp dst port 4789 and src host 198.18.0.1', { count: 3, durationMs: 10_000 });
      const ping = await runPing({ ns: overlay.client.ns, target: overlay.server.addr4, count: 3, intervalS: 0.05 });
      expect(ping.received).toBe(3);
      const packets = pcapRecords(await capture.pcap);
      expect(packets).toHaveLength(3);
      for (const frame of packets) {
        // Ethernet 14 + IPv4 20 (no options) + UDP 8, then the VXLAN header: flags 0x08, VNI in bytes 4–6.
        expect(frame.readUInt32BE(14 + 12)).toBe(0xc6120001); // outer source 198.18.0.1
        expect(frame[42]).toBe(0x08);
        expect(frame.readUIntBE(42 + 4, 3)).toBe(4096);
      }
      expect(overlay.cpuSeconds?.()).toBeGreaterThan(0); // softirq since boot
    } finally {
      await overlay.destroy();
    }
    expect(listByPrefix(topo().prefix).namespaces.filter((n) => n.includes('-kvx'))).toEqual([]);
  });

  /** Three pings pass through a userspace tunnel row, its packets (`filter`) are on host 2's underlay, and its CPU figure grows under a flood. */
  async function expectTunnelCarries(overlay: BenchOverlay, filter: string): Promise<void> {
    const host2 = topo().host(2);
    const capture = await topo().capture(host2.ns, host2.iface, filter, { count: 2, durationMs: 10_000 });
    const ping = await runPing({ ns: overlay.client.ns, target: overlay.server.addr4, count: 3, intervalS: 0.2 });
    expect(ping.received).toBe(3);
    expect(pcapRecords(await capture.pcap)).toHaveLength(2);
    await expectCpuUnderFlood(overlay, (ns, cmd) => topo().exec(ns, cmd));
  }

  it.skipIf(!haveWireguard)('wireguard-go: containers reach each other through the tunnel', async () => {
    const overlay = await wireguardOverlay(topo());
    try {
      await expectTunnelCarries(overlay, 'udp port 51820');
    } finally {
      await overlay.destroy();
    }
    expect(listByPrefix(topo().prefix).sockets).toEqual([]);
  });

  it.skipIf(!haveNebula)('Nebula: containers reach each other through the tunnel, and nothing of it stays', async () => {
    const overlay = await nebulaOverlay(topo());
    try {
      await expectTunnelCarries(overlay, 'udp port 4242 and src host 198.18.0.1');
    } finally {
      await overlay.destroy();
    }
    expect(listByPrefix(topo().prefix).namespaces.filter((n) => n.endsWith('-nb'))).toEqual([]);
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith(`${topo().prefix}-nebula-`))).toEqual([]);
    for (const host of topo().hosts) {
      expect((await topo().exec(host.ns, ['ip', '-o', 'link', 'show'])).stdout).not.toContain(topo().names.link(`n${host.index}`));
    }
  });

  it.skipIf(!haveOverlayd)('overlayd native, as npm run bench builds it (no --workers): containers ping, both agents count', async () => {
    const overlay = await overlaydOverlay(topo(), { datapath: 'native' });
    try {
      expect(overlay.name).toBe('overlayd native');
      const ping = await runPing({ ns: overlay.client.ns, target: overlay.server.addr4, count: 3, intervalS: 0.2 });
      expect(ping.received).toBe(3);
      await expectCpuUnderFlood(overlay, (ns, cmd) => topo().exec(ns, cmd));
    } finally {
      await overlay.destroy();
    }
  });
});
