/**
 * The pcap records of `overlayctl capture` (src/agent/capture-encoder.ts):
 * outer packets get the IP and UDP headers they had on the wire — this
 * host's VTEP and the remote one in the right order, the real ports, protocol
 * 50 for raw ESP — and a session takes only the records of its own mode.
 */
import { describe, expect, it } from 'vitest';
import { CaptureEncoder } from '../../src/agent/capture-encoder.js';
import { decodeIPv4, decodeIPv6, decodeUdp, LINKTYPE_ETHERNET, LINKTYPE_RAW, PCAP_RECORD_HEADER_LENGTH, readPcap } from '../../src/wire/index.js';

const PAYLOAD = Buffer.from('0800000000100400' + 'ab'.repeat(20), 'hex');
const wire = (encoder: CaptureEncoder, ...records: (Buffer | undefined)[]) => readPcap(Buffer.concat([encoder.header(), ...records.map((r) => r!)]));

describe('CaptureEncoder', () => {
  it('writes a sent VXLAN datagram from this VTEP and its hashed port, a received one back to the data port', () => {
    const enc = new CaptureEncoder('198.18.0.1', true);
    const out = enc.record({ vni: 4100, direction: 'egress', frame: PAYLOAD, vtep: '198.18.0.2', outer: { proto: 'udp', localPort: 41873, remotePort: 4789 } });
    const back = enc.record({ vni: 4100, direction: 'ingress', frame: PAYLOAD, vtep: '198.18.0.2', outer: { proto: 'udp', localPort: 4789, remotePort: 36223 } });
    const file = wire(enc, out, back);
    expect(file.linkType).toBe(LINKTYPE_RAW);
    const [a, b] = file.packets.map((p) => p.data);
    const ha = decodeIPv4(a);
    expect([ha.src.join('.'), ha.dst.join('.'), ha.protocol]).toEqual(['198.18.0.1', '198.18.0.2', 17]);
    expect(decodeUdp(a, 20)).toMatchObject({ srcPort: 41873, dstPort: 4789 });
    expect(a.subarray(28)).toEqual(PAYLOAD);
    const hb = decodeIPv4(b);
    expect([hb.src.join('.'), hb.dst.join('.')]).toEqual(['198.18.0.2', '198.18.0.1']);
    expect(decodeUdp(b, 20)).toMatchObject({ srcPort: 36223, dstPort: 4789 });
  });

  it('writes raw ESP as IP protocol 50, over IPv6 too', () => {
    const enc = new CaptureEncoder('2001:db8::1', true);
    const rec = enc.record({ vni: 7, direction: 'egress', frame: PAYLOAD, vtep: '2001:db8::2', outer: { proto: 'esp', localPort: 0, remotePort: 0 } });
    const [p] = wire(enc, rec).packets.map((x) => x.data);
    const h = decodeIPv6(p);
    expect([h.nextHeader, h.payloadLength]).toEqual([50, PAYLOAD.length]);
    expect(p.subarray(40)).toEqual(PAYLOAD);
  });

  it('takes only its own mode, and no outer packet without a VTEP or of another family', () => {
    const outer = new CaptureEncoder('198.18.0.1', true);
    const inner = new CaptureEncoder('198.18.0.1', false);
    const frame = { vni: 1, direction: 'egress' as const, frame: PAYLOAD.subarray(8), vtep: '198.18.0.2' };
    const packet = { ...frame, frame: PAYLOAD, outer: { proto: 'udp' as const, localPort: 1, remotePort: 4789 } };
    expect(outer.record(frame)).toBeUndefined();
    expect(inner.record(packet)).toBeUndefined();
    expect(outer.record({ ...packet, vtep: undefined })).toBeUndefined();
    expect(outer.record({ ...packet, vtep: '2001:db8::2' })).toBeUndefined();
    const rec = inner.record(frame)!;
    expect(rec.length).toBe(PCAP_RECORD_HEADER_LENGTH + frame.frame.length);
    expect(readPcap(Buffer.concat([inner.header(), rec])).linkType).toBe(LINKTYPE_ETHERNET);
  });
});
