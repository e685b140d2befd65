/**
 * The benchmark library's pure parts: iperf3 and ping output parsing,
 * median, the markdown table with ratio columns, the overlayd row's agent
 * flags and names, a Nebula node's config.
 */
import { describe, expect, it } from 'vitest';
import { parseIperf3 } from '../../bench/lib/iperf3.js';
import { parsePing } from '../../bench/lib/ping.js';
import { median } from '../../bench/lib/stats.js';
import { renderTable } from '../../bench/lib/table.js';
import { overlaydAgentOptions, overlaydRowName } from '../../bench/lib/overlayd.js';
import { nebulaConfig } from '../../bench/lib/nebula.js';

// Trimmed from real `iperf3 -J` 3.12 reports on this machine.
const TCP_REPORT = JSON.stringify({
  end: {
    sum_sent: { seconds: 1.009, bits_per_second: 4_300_000_000, retransmits: 118 },
    sum_received: { seconds: 1.009311, bits_per_second: 4_258_462_479.85 },
  },
});
const UDP_REPORT = JSON.stringify({
  end: {
    sum_received: { seconds: 1.000222, bits_per_second: 34_302_016.95, lost_packets: 38109, packets: 105120, lost_percent: 36.25 },
  },
});

const PING_OUTPUT = `PING 198.19.0.2 (198.19.0.2) 56(84) bytes of data.
64 bytes from 198.19.0.2: icmp_seq=1 ttl=64 time=0.120 ms
64 bytes from 198.19.0.2: icmp_seq=2 ttl=64 time=0.080 ms
64 bytes from 198.19.0.2: icmp_seq=4 ttl=64 time=0.300 ms

--- 198.19.0.2 ping statistics ---
4 packets transmitted, 3 received, 25% packet loss, time 31ms
rtt min/avg/max/mdev = 0.080/0.166/0.300/0.095 ms
`;

describe('benchmark library', () => {
  it('reads TCP goodput and retransmissions from the receiver side of an iperf3 report', () => {
    const r = parseIperf3(TCP_REPORT, 'tcp');
    expect(r.gbps).toBeCloseTo(4.258, 3);
    expect(r.retransmits).toBe(118);
    expect(r.packetsPerSecond).toBeNaN();
  });

  it('counts only the UDP datagrams that arrived', () => {
    const r = parseIperf3(UDP_REPORT, 'udp');
    expect(r.packetsPerSecond).toBeCloseTo((105120 - 38109) / 1.000222, 3);
    expect(r.lostPercent).toBe(36.25);
  });

  it('rejects an iperf3 error report', () => {
    expect(() => parseIperf3(JSON.stringify({ error: 'unable to connect to server' }), 'tcp')).toThrow(/unable to connect/);
  });

  it('parses per-reply times and the summary of ping', () => {
    expect(parsePing(PING_OUTPUT)).toEqual({
      sent: 4,
      received: 3,
      medianMs: 0.12,
      minMs: 0.08,
      avgMs: 0.166,
      maxMs: 0.3,
      mdevMs: 0.095,
    });
  });

  it('takes the median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('renders a markdown table with ratios to the baseline row', () => {
    const table = renderTable(
      [{ key: 'gbps', title: 'Gbit/s' }, { key: 'rtt', title: 'RTT µs', digits: 0 }],
      [
        { name: 'kernel', values: { gbps: 4, rtt: 100 } },
        { name: 'ours', values: { gbps: 2, rtt: 150 } },
      ],
      'kernel',
    );
    expect(table.split('\n')).toEqual([
      '|  | Gbit/s | × kernel | RTT µs | × kernel |',
      '| --- | ---: | ---: | ---: | ---: |',
      '| kernel | 4.00 | 1.00 | 100 | 1.00 |',
      '| ours | 2.00 | 0.50 | 150 | 1.50 |',
    ]);
  });

  it('leaves out the ratio of a column that asks so, and prints a missing figure as a dash', () => {
    const table = renderTable(
      [{ key: 'gbps', title: 'Gbit/s' }, { key: 'cores', title: 'CPU cores', ratio: false }],
      [
        { name: 'kernel', values: { gbps: 4, cores: 0.5 } },
        { name: 'underlay', values: { gbps: 8, cores: Number.NaN } },
      ],
      'kernel',
    );
    expect(table.split('\n')).toEqual([
      '|  | Gbit/s | × kernel | CPU cores |',
      '| --- | ---: | ---: | ---: |',
      '| kernel | 4.00 | 1.00 | 0.50 |',
      '| underlay | 8.00 | 2.00 | – |',
    ]);
  });

  it('passes --workers to the agents only when the row asks, and names the row after it', () => {
    expect(overlaydAgentOptions({ datapath: 'native' })).toEqual({ datapath: 'native' });
    expect(overlaydAgentOptions({ datapath: 'native', workers: 1 })).toEqual({ datapath: 'native', extraArgs: ['--workers', '1'] });
    expect(overlaydRowName({ datapath: 'native' })).toBe('overlayd native');
    expect(overlaydRowName({ datapath: 'native', workers: 1 })).toBe('overlayd native --workers 1');
    expect(overlaydRowName({ datapath: 'native', encrypted: { carrier: 'udp' } })).toBe('overlayd native ESP/udp');
  });

  it('configures a Nebula node with AES, no lighthouse, the peer by static map and its subnet by unsafe route', () => {
    const config = nebulaConfig({
      ca: '/t/ca.crt', cert: '/t/h1.crt', key: '/t/h1.key', listen: '198.18.0.1', port: 4242, mtu: 1420, tun: 'ovt00000aan1',
      peer: { nebulaAddr: '198.19.3.2', underlay: '198.18.0.2:4242', subnet: '198.19.42.0/24' },
    });
    expect(config).toMatchObject({
      cipher: 'aes',
      static_host_map: { '198.19.3.2': ['198.18.0.2:4242'] },
      lighthouse: { am_lighthouse: false, hosts: [] },
      listen: { host: '198.18.0.1', port: 4242 },
      tun: { dev: 'ovt00000aan1', mtu: 1420, unsafe_routes: [{ route: '198.19.42.0/24', via: '198.19.3.2', mtu: 1420 }] },
      firewall: { inbound: [{ port: 'any', proto: 'any', host: 'any' }], outbound: [{ port: 'any', proto: 'any', host: 'any' }] },
    });
  });
});
