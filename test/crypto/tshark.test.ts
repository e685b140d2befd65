/**
 * Interop with Wireshark's ESP dissector: a pcap of our ESP packets (written
 * with PcapWriter), the SAs exported as `esp_sa` UAT records, and tshark must
 * decrypt every packet down to the inner ICMP/TCP inside VXLAN — both
 * carriers (protocol 50, ESP-in-UDP on 4500 and on a custom port), both key
 * sizes, both families.
 *
 * The ICV: Wireshark (4.0 here) has no ESN setting and always authenticates
 * SPI ‖ seq, so for our ESN SAs it decrypts but cannot verify the ICV (scapy
 * verifies those, see scapy-interop.test.ts). Each packet therefore also goes
 * out on a classic 32-bit SA (`esn: false`), same key and salt, whose ICV
 * tshark must report as good: that checks our GCM tag computation against
 * Wireshark's, and that the ESN packets differ only by the AAD.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type AesKeySize, deriveSa, type EspCarrier, sealEsp, SecurityAssociation, tsharkEspArgs } from '../../src/crypto/index.js';
import { LINKTYPE_RAW, parseIp, PcapWriter } from '../../src/wire/index.js';
import { haveTool, requirement } from '../../src/testkit/ci.js';
import { icmpEcho, outerPacket, tcpSyn, vxlanDatagram } from './support.js';

const haveTshark = requirement(haveTool('tshark'), 'tshark (apt-get install tshark)');
const CUSTOM_PORT = 14789;

interface Sent {
  spi: number;
  seq: number;
  esn: boolean;
  inner: 'icmp' | 'tcp';
}

describe.skipIf(!haveTshark)('tshark decrypts our ESP with the exported SAs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovt-esp-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const writer = new PcapWriter(LINKTYPE_RAW);
  const records: Buffer[] = [writer.header()];
  const sas: SecurityAssociation[] = [];
  const sent: Sent[] = [];
  const key = { tag: 42, material: Buffer.alloc(32, 0x42) };
  let t = 1_700_000_000_000;
  for (const [srcText, dstText] of [
    ['198.18.0.1', '198.18.0.2'],
    ['2001:db8::1', '2001:db8::2'],
  ]) {
    const src = parseIp(srcText);
    const dst = parseIp(dstText);
    for (const keySize of [16, 32] as AesKeySize[]) {
      const esnSa = deriveSa({ key, src, dst, keySize });
      const classicSa = new SecurityAssociation({ spi: (esnSa.spi ^ 0x10000) >>> 0, key: esnSa.key, salt: esnSa.salt, src, dst, esn: false });
      sas.push(esnSa, classicSa);
      for (const [carrier, port] of [['ip', 0], ['udp', 4500], ['udp', CUSTOM_PORT]] as [EspCarrier, number][]) {
        for (const sa of [esnSa, classicSa]) {
          const n = sent.length;
          const inner = n % 2 === 0 ? 'icmp' : 'tcp';
          const datagram = vxlanDatagram(src, dst, inner === 'icmp' ? 1 : 6, inner === 'icmp' ? icmpEcho(n) : tcpSyn(30000 + n));
          // ESN SAs use numbers past 2^32: the low half on the wire, the high half only in the AAD.
          const seq = sa.esn ? 2 ** 32 + 100 + n : 100 + n;
          records.push(writer.record(outerPacket(carrier, src, dst, sealEsp(sa, seq, datagram), port), (t += 1)));
          sent.push({ spi: sa.spi, seq, esn: sa.esn, inner });
        }
      }
    }
  }
  const pcapPath = join(dir, 'esp.pcap');
  writeFileSync(pcapPath, Buffer.concat(records));

  const fields = ['esp.spi', 'esp.sequence', 'esp.icv_good', 'vxlan.vni', 'icmp.type', 'tcp.flags.syn'];
  const run = (extra: string[]) =>
    spawnSync('tshark', ['-r', pcapPath, '-d', `udp.port==${CUSTOM_PORT},udpencap`, ...extra, '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((f) => ['-e', f])], {
      encoding: 'utf8',
      timeout: 120_000,
    });

  it('shows the inner ICMP / TCP of every packet, ICV verified on the 32-bit twins', () => {
    const r = run(tsharkEspArgs(sas));
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n').map((line) => line.split('|'));
    expect(rows.length).toBe(sent.length);
    rows.forEach(([spi, seq, icvGood, vni, icmpType, syn], i) => {
      const s = sent[i];
      const what = `frame ${i + 1} (SPI 0x${s.spi.toString(16)}, ${s.esn ? 'ESN' : '32-bit'}, ${s.inner})`;
      expect(Number(spi), what).toBe(s.spi);
      expect(Number(seq), what).toBe(s.seq % 2 ** 32);
      expect(vni, what).toBe('4096');
      if (s.inner === 'icmp') expect(icmpType, what).toBe('8');
      else expect(syn, what).toMatch(/^(1|True)$/);
      // Wireshark's AAD is SPI ‖ seq: right for the 32-bit SAs only.
      expect(icvGood, what).toBe(s.esn ? '0' : '1');
    });
  });

  it('without the SAs tshark sees only ciphertext (the test above depends on the export)', () => {
    const r = run([]);
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n').map((line) => line.split('|'));
    expect(rows.length).toBe(sent.length);
    for (const [, , , vni, icmpType] of rows) {
      expect(vni).toBe('');
      expect(icmpType).toBe('');
    }
  });
});
