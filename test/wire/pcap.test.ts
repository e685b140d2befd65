import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  encodeEthernet,
  encodeIcmp,
  encodeIPv4,
  ETHERTYPE,
  LINKTYPE_RAW,
  parseIp,
  parseMac,
  PcapWriter,
  readPcap,
} from '../../src/wire/index.js';
import { haveTool, requirement } from '../../src/testkit/ci.js';
import { findScapyPython, runScapy, wireErrorCode } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'ovt-wire-pcap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const echo = (seq: number): Buffer =>
  encodeEthernet(
    { dst: parseMac('02:42:c6:13:01:03'), src: parseMac('02:42:c6:13:01:02'), etherType: ETHERTYPE.IPV4 },
    encodeIPv4({ protocol: 1, src: parseIp('198.19.1.2'), dst: parseIp('198.19.1.3') }, encodeIcmp({ type: 8, code: 0, rest: (7 << 16) | seq }, Buffer.alloc(56))),
  );

/** A two-packet file written by PcapWriter, times 1.5 s and 1700000000.000123 s. */
function sampleFile(): Buffer {
  const w = new PcapWriter();
  return Buffer.concat([w.header(), w.record(echo(1), 1500), w.record(echo(2), 1_700_000_000_000.123)]);
}

describe('PcapWriter / readPcap', () => {
  it('writes the classic little-endian microsecond header', () => {
    expect(new PcapWriter().header().toString('hex')).toBe('d4c3b2a1' + '02000400' + '00000000' + '00000000' + '00000400' + '01000000');
    expect(new PcapWriter(LINKTYPE_RAW, 1500).header().subarray(16).toString('hex')).toBe('dc050000' + '65000000');
  });

  it('round-trips packets, times and original lengths, cutting at the snapshot length', () => {
    const file = sampleFile();
    const { linkType, packets } = readPcap(file);
    expect(linkType).toBe(1);
    expect(packets.map((p) => [p.timeUs, p.origLen, p.data.equals(echo(p === packets[0] ? 1 : 2))])).toEqual([
      [1_500_000, 98, true],
      [1_700_000_000_000_123, 98, true],
    ]);
    const w = new PcapWriter(1, 40);
    const cut = readPcap(Buffer.concat([w.header(), w.record(echo(3), 0)])).packets[0];
    expect([cut.data.length, cut.origLen, cut.data.equals(echo(3).subarray(0, 40))]).toEqual([40, 98, true]);
  });

  it('reads big-endian and nanosecond files', () => {
    const be = Buffer.from('a1b2c3d4' + '00020004' + '00000000' + '00000000' + '0000ffff' + '00000065' + '00000002' + '00000003' + '00000004' + '00000005' + 'deadbeef', 'hex');
    const r = readPcap(be);
    expect([r.linkType, r.packets[0].timeUs, r.packets[0].origLen, r.packets[0].data.toString('hex')]).toEqual([101, 2_000_003, 5, 'deadbeef']);
    const ns = Buffer.from(be);
    ns.writeUInt32BE(0xa1b23c4d, 0);
    ns.writeUInt32BE(123_456_789, 28);
    expect(readPcap(ns).packets[0].timeUs).toBe(2_123_456);
  });

  it('reports malformed files', () => {
    const file = sampleFile();
    expect(wireErrorCode(() => readPcap(file.subarray(0, 23)))).toBe('TRUNCATED');
    expect(wireErrorCode(() => readPcap(file.subarray(0, 24 + 15)))).toBe('TRUNCATED');
    expect(wireErrorCode(() => readPcap(file.subarray(0, file.length - 1)))).toBe('TRUNCATED');
    const magic = Buffer.from(file);
    magic[0] = 0;
    expect(wireErrorCode(() => readPcap(magic))).toBe('BAD_VALUE');
    const version = Buffer.from(file);
    version.writeUInt16LE(3, 4);
    expect(wireErrorCode(() => readPcap(version))).toBe('BAD_VERSION');
    const huge = Buffer.from(file);
    huge.writeUInt32LE(0x7fffffff, 24 + 8);
    expect(wireErrorCode(() => readPcap(huge))).toBe('BAD_LENGTH');
    expect(readPcap(file.subarray(0, 24)).packets).toEqual([]);
    expect(wireErrorCode(() => new PcapWriter(1, 0))).toBe('BAD_VALUE');
    expect(wireErrorCode(() => new PcapWriter().record(Buffer.alloc(1), -1))).toBe('BAD_VALUE');
  });

  const tcpdump = requirement(haveTool('tcpdump'), 'tcpdump (apt-get install tcpdump)');
  it.skipIf(!tcpdump)('tcpdump reads what PcapWriter writes', () => {
    const path = join(dir, 'ours.pcap');
    writeFileSync(path, sampleFile());
    const out = execFileSync('tcpdump', ['-r', path, '-nn', '-e', '-tt'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^1\.500000 02:42:c6:13:01:02 > 02:42:c6:13:01:03, ethertype IPv4 \(0x0800\), length 98: 198\.19\.1\.2 > 198\.19\.1\.3: ICMP echo request, id 7, seq 1, length 64/);
    expect(lines[1]).toMatch(/^1700000000\.000123 .* seq 2, length 64/);
  });

  const python = findScapyPython();
  it.skipIf(!requirement(python !== null, 'python3 with scapy'))('scapy reads our files, and we read files scapy writes (µs, ns, big-endian)', () => {
    const ours = join(dir, 'for-scapy.pcap');
    writeFileSync(ours, sampleFile());
    const result = runScapy<{ read: [string, string][] }>(
      python as string,
      `
d = ${JSON.stringify(dir)}
read = [[bytes(p).hex(), str(p.time)] for p in rdpcap(${JSON.stringify(ours)})]
pkts = [Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')/IP(src='198.18.0.1', dst='198.18.0.2')/UDP(sport=1, dport=2)/Raw(b'x' * n) for n in (1, 100)]
for p, t in zip(pkts, (1.25, 1700000000.5)):
    p.time = t
wrpcap(d + '/us.pcap', pkts)
wrpcap(d + '/ns.pcap', pkts, nano=True)
wrpcap(d + '/be.pcap', pkts, endianness='>')
print(json.dumps({'read': read}))
`,
    );
    expect(result.read.map(([h]) => h)).toEqual([echo(1).toString('hex'), echo(2).toString('hex')]);
    expect(result.read.map(([, t]) => Number(t))).toEqual([1.5, 1_700_000_000.000123]);
    for (const name of ['us', 'ns', 'be']) {
      const { linkType, packets } = readPcap(readFileSync(join(dir, `${name}.pcap`)));
      expect(linkType, name).toBe(1);
      expect(packets.map((p) => [p.timeUs, p.data.length, p.origLen]), name).toEqual([
        [1_250_000, 43, 43],
        [1_700_000_000_500_000, 142, 142],
      ]);
    }
  });
});
