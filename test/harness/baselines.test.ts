/**
 * The benchmark baselines carry traffic the way they claim to: the kernel
 * VXLAN overlay sends VXLAN (VNI 4096, UDP 4789) between the hosts' underlay
 * addresses, and the wireguard-go overlay routes container traffic through
 * its tunnel (UDP 51820). Functional checks only; figures are bench's job.
 */
import { describe, expect, it } from 'vitest';
import { haveNetns, haveTools, requirement } from '../../src/testkit/ci.js';
import { listByPrefix } from '../../src/testkit/netns.js';
import { useTopology } from '../helpers/vitest-topology.js';
import { kernelVxlanOverlay } from '../../bench/lib/kernel-vxlan.js';
import { wireguardOverlay } from '../../bench/lib/wireguard.js';
import { runPing } from '../../bench/lib/ping.js';
import { pcapRecords } from './pcap.js';

const ready = requirement(
  haveNetns() && haveTools('ping', 'tcpdump', 'bridge', 'wireguard-go'),
  'baseline tests need root, iproute2 (ip, bridge), ping, tcpdump and wireguard-go',
);

describe.skipIf(!ready)('benchmark baselines', () => {
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
    } finally {
      await overlay.destroy();
    }
    expect(listByPrefix(topo().prefix).namespaces.filter((n) => n.includes('-kvx'))).toEqual([]);
  });

  it('wireguard-go: containers reach each other through the tunnel', async () => {
    const overlay = await wireguardOverlay(topo());
    try {
      const host2 = topo().host(2);
      const capture = await topo().capture(host2.ns, host2.iface, 'udp port 51820', { count: 2, durationMs: 10_000 });
      const ping = await runPing({ ns: overlay.client.ns, target: overlay.server.addr4, count: 3, intervalS: 0.2 });
      expect(ping.received).toBe(3);
      expect(pcapRecords(await capture.pcap)).toHaveLength(2);
    } finally {
      await overlay.destroy();
    }
    expect(listByPrefix(topo().prefix).sockets).toEqual([]);
  });
});
