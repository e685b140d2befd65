/**
 * `overlayctl trace` below the control API: the frame builder
 * (src/agent/trace-frame.ts) makes well-formed frames of every kind, and
 * runTrace (src/agent/trace.ts) gives the same report — verdict, reason,
 * stages, details, outer header — on the native path and the TypeScript
 * reference for the same tables, and refuses bad input with clear errors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { NetworkEntry } from '../../src/cluster/entries.js';
import { OverlayError } from '../../src/cluster/errors.js';
import type { AgentContext, UpNetwork } from '../../src/agent/context.js';
import { buildTraceFrame } from '../../src/agent/trace-frame.js';
import { runTrace, type TraceReport, type TraceRequest } from '../../src/agent/trace.js';
import { generateNetworkKey } from '../../src/crypto/index.js';
import type { Datapath, NetworkEncryption } from '../../src/dataplane/datapath.js';
import { EspPlanner } from '../../src/dataplane/esp-plan.js';
import { EspSaStore } from '../../src/dataplane/esp-store.js';
import { NativeDatapath } from '../../src/dataplane/native.js';
import { ReferenceProcessor } from '../../src/dataplane/process.js';
import { FdbTable, NeighbourTable } from '../../src/dataplane/tables.js';
import { haveAddon } from '../native/support.js';
import * as F from '../../src/testkit/frames.js';
import { decodeArp, decodeEthernet, decodeIPv4, decodeIPv6, decodeTcp, foldChecksum, icmpv6ChecksumValid, ipv4HeaderChecksumValid, onesComplementSum, parseIp, pseudoHeaderSum, udpChecksumValid } from '../../src/wire/index.js';

const ready = haveAddon();

const SELF = '198.18.0.1';
const ENC: NetworkEncryption = { carrier: 'udp', keySize: 16, esn: true };
const NETS = [
  { name: 'blue', vni: F.VNI, mtu: F.MTU, encrypted: false, subnets: ['198.19.1.0/24', '2001:db8:1::/64'] },
  { name: 'red', vni: 6000, mtu: 1408, encrypted: true, encryption: { sendTag: 1 }, subnets: ['198.19.2.0/24'] },
  { name: 'idle', vni: 7000, mtu: F.MTU, encrypted: false, subnets: ['198.19.3.0/24'] },
] as unknown as NetworkEntry[];
const LOCAL = { network: 'blue', ips: [F.LOCAL_IP, F.LOCAL_IP6], mac: F.LOCAL_MAC };
const LOCAL_RED = { network: 'red', ips: ['198.19.2.2'], mac: '02:42:c6:13:02:02' };

describe('trace frame builder', () => {
  const spec = { srcMac: F.LOCAL_MAC, dstMac: F.REMOTE_MAC, src: F.LOCAL_IP, dst: F.REMOTE_IP, sport: 40000, dport: 80, size: 84, df: false };

  it('builds IPv4 ICMP, TCP and UDP packets of the asked size, DF as asked, checksums right', () => {
    for (const proto of ['icmp', 'tcp', 'udp'] as const) {
      for (const [size, df] of [[84, false], [1500, true], [40, false]] as const) {
        const { frame, summary } = buildTraceFrame({ ...spec, proto, size, df });
        expect(frame.length).toBe(14 + size);
        const ip = decodeIPv4(frame, 14);
        expect([ip.totalLength, ip.flags & 2, ip.protocol]).toEqual([size, df ? 2 : 0, { icmp: 1, tcp: 6, udp: 17 }[proto]]);
        expect(ipv4HeaderChecksumValid(frame, 14)).toBe(true);
        const [src, dst] = [parseIp(F.LOCAL_IP), parseIp(F.REMOTE_IP)];
        if (proto === 'udp') expect(udpChecksumValid(src, dst, frame, 34)).toBe(true);
        if (proto === 'tcp') {
          expect(decodeTcp(frame, 34)).toMatchObject({ srcPort: 40000, dstPort: 80 });
          expect(foldChecksum(onesComplementSum(frame, 34, frame.length, pseudoHeaderSum(src, dst, 6, size - 20)))).toBe(0);
        }
        expect(summary).toContain(`${proto} ${F.LOCAL_IP} → ${F.REMOTE_IP}`);
      }
    }
  });

  it('builds IPv6 packets, ICMPv6 echo checksummed', () => {
    const { frame } = buildTraceFrame({ ...spec, src: F.LOCAL_IP6, dst: F.REMOTE_IP6, proto: 'icmp', size: 104 });
    expect(decodeIPv6(frame, 14)).toMatchObject({ payloadLength: 64, nextHeader: 58 });
    expect(frame[54]).toBe(128);
    expect(icmpv6ChecksumValid(parseIp(F.LOCAL_IP6), parseIp(F.REMOTE_IP6), frame, 54)).toBe(true);
  });

  it('builds the broadcast ARP request or the neighbour solicitation when the destination MAC is unknown', () => {
    const arp = buildTraceFrame({ ...spec, dstMac: undefined, proto: 'icmp' });
    expect(decodeEthernet(arp.frame).dst.toString('hex')).toBe('ffffffffffff');
    expect(decodeArp(arp.frame, 14)).toMatchObject({ op: 1, tpa: parseIp(F.REMOTE_IP), spa: parseIp(F.LOCAL_IP) });
    const ns = buildTraceFrame({ ...spec, dstMac: undefined, src: F.LOCAL_IP6, dst: F.REMOTE_IP6, proto: 'icmp' });
    expect(decodeEthernet(ns.frame).dst.toString('hex')).toBe('3333ff000003');
    expect([ns.frame[14 + 7], ns.frame[14 + 40]]).toEqual([255, 135]);
  });
});

/** A context over `datapath` with the networks and endpoints above; `red` is keyed when `keyed`. */
function context(datapath: Datapath): AgentContext {
  const up = new Map<string, UpNetwork>();
  for (const n of NETS.slice(0, 2)) {
    up.set(n.name, { vni: n.vni, id: n.name, fdb: new Map([[F.REMOTE_MAC, F.REMOTE_VTEP]]), neigh: new Map([[F.REMOTE_IP, F.REMOTE_MAC], [F.REMOTE_IP6, F.REMOTE_MAC]]), groups: new Map() });
  }
  const store = {
    network: (name: string) => NETS.find((n) => n.name === name) ?? (() => { throw new OverlayError('NETWORK_NOT_FOUND', `no network ${name}`); })(),
    localEndpoints: (network?: string) => [LOCAL, LOCAL_RED].filter((e) => network === undefined || e.network === network),
  };
  return { config: { advertiseAddr: SELF, dataPort: 4789 }, store, datapath, up } as unknown as AgentContext;
}

function fill(dp: { fdbSet(v: number, m: string, t: string): void; neighSet(v: number, i: string, m: string): void }): void {
  for (const n of NETS.slice(0, 2)) {
    dp.fdbSet(n.vni, F.REMOTE_MAC, F.REMOTE_VTEP);
    dp.neighSet(n.vni, F.REMOTE_IP, F.REMOTE_MAC);
    dp.neighSet(n.vni, F.REMOTE_IP6, F.REMOTE_MAC);
  }
}

describe.skipIf(!ready)('runTrace on both paths', () => {
  const paths: { ctx: AgentContext; setKeys: () => void }[] = [];
  const ring = { keys: [generateNetworkKey(1)], sendTag: 1 };

  beforeAll(() => {
    const native = new NativeDatapath({ bindAddress: SELF, dataPort: 4789 });
    native.addDetachedNetwork(F.VNI, F.MTU);
    native.addDetachedNetwork(6000, 1408, ENC);
    fill(native);
    paths.push({ ctx: context(native), setKeys: () => native.setKeys(6000, ring) });

    const [fdb, neigh, sas] = [new FdbTable(), new NeighbourTable(), new EspSaStore()];
    const proc = new ReferenceProcessor(new Map([[F.VNI, { mtu: F.MTU }], [6000, { mtu: 1408, encryption: ENC }]]), fdb, neigh, { sas });
    const planner = new EspPlanner(SELF, sas);
    planner.addNetwork(6000, ENC);
    fill({ fdbSet: (v, m, t) => (fdb.set(v, m, t), planner.fdbSet(v, m, t)), neighSet: (v, i, m) => neigh.set(v, i, m) });
    const js = {
      kind: 'js',
      processEgress: proc.processEgress.bind(proc),
      processIngress: proc.processIngress.bind(proc),
      traceEsp: proc.traceEsp.bind(proc),
      securityAssociations: (vni?: number) => sas.list(vni),
    } as unknown as Datapath;
    paths.push({ ctx: context(js), setKeys: () => planner.setKeys(6000, ring) });
  });

  /** The report of `req` on both paths, which must agree but for the path's name. */
  const trace = (req: Partial<TraceRequest>): TraceReport => {
    const [a, b] = paths.map((p) => runTrace(p.ctx, { network: 'blue', src: F.LOCAL_IP, dst: F.REMOTE_IP, ...req }));
    expect({ ...a, datapath: 'js' }).toEqual(b);
    return a;
  };
  const stages = (r: TraceReport) => r.stages.map((s) => `${s.stage} ${s.result}`);

  it('forwards to a known remote endpoint: stage by stage, the outer header to its VTEP with the VNI', () => {
    const r = trace({});
    expect(r).toMatchObject({ network: 'blue', vni: F.VNI, direction: 'egress', verdict: 'forward', outer: { src: SELF, dst: F.REMOTE_VTEP, dport: 4789, vni: F.VNI } });
    expect(stages(r)).toEqual(['parse pass', 'proxy pass', 'lookup pass', 'size pass', 'encapsulate pass']);
    expect(r.stages[4].detail).toBe(`VXLAN vni ${F.VNI}, 106-byte payload to ${F.REMOTE_VTEP}:4789`);
    expect(r.stages[2].detail).toBe(`FDB ${F.REMOTE_MAC} → VTEP ${F.REMOTE_VTEP}`);
    expect(r.stages[3].detail).toBe(`fits ${F.MTU}`);
    expect(trace({ src: F.LOCAL_IP6, dst: F.REMOTE_IP6, proto: 'tcp', dport: 443 }).verdict).toBe('forward');
    expect(trace({ proto: 'udp', size: 4000 }).stages[3].detail).toBe(`4000 > ${F.MTU}: cut into 3 IPv4 fragments`);
  });

  it('drops what real frames would drop, naming the reason and the stage', () => {
    const tooBig = trace({ size: 1500, df: true });
    expect([tooBig.verdict, tooBig.reason, stages(tooBig).at(-1)]).toEqual(['drop', 'too_big', 'size too_big']);
    expect(tooBig.stages.at(-1)?.detail).toBe(`too big: 1500 > ${F.MTU}, DF; ICMP too-big (MTU ${F.MTU}) back to the sender`);
    const stale = trace({ dstMac: '02:42:c6:13:01:63' });
    expect([stale.reason, stale.stages.at(-1)?.detail]).toEqual(['no_fdb', `FDB of vni ${F.VNI} has no 02:42:c6:13:01:63: dropped, never flooded`]);
    const unknown = trace({ dst: '198.19.1.99' });
    expect([unknown.reason, stages(unknown)]).toEqual(['arp_unknown', ['parse pass', 'proxy arp_unknown']]);
    expect(trace({ network: 'red', src: '198.19.2.2' })).toMatchObject({ verdict: 'drop', reason: 'no_sa' });
  });

  it('answers ARP and neighbour solicitations for a known address: verdict reply', () => {
    const r = trace({ proto: 'arp' });
    expect([r.verdict, stages(r), r.stages[1].detail]).toEqual(['reply', ['parse pass', 'proxy pass'], 'answered from the neighbour table: a 42-byte reply back to the sender']);
    expect(trace({ proto: 'arp', src: F.LOCAL_IP6, dst: F.REMOTE_IP6 }).verdict).toBe('reply');
  });

  it('walks ingress packets: a member VTEP delivers, any other is unknown_vtep, ESP without an SA esp_bad_spi', () => {
    const base = { ingress: true, src: F.REMOTE_IP, dst: F.LOCAL_IP };
    expect(trace({ ...base, vtep: F.REMOTE_VTEP })).toMatchObject({ verdict: 'deliver', outer: { src: F.REMOTE_VTEP, vni: F.VNI } });
    const stranger = trace({ ...base, vtep: '198.18.0.99' });
    expect([stranger.reason, stages(stranger)]).toEqual(['unknown_vtep', ['open pass', 'decapsulate pass', 'admit unknown_vtep']]);
    expect(trace({ ...base, network: 'red', dst: '198.19.2.2', vtep: F.REMOTE_VTEP })).toMatchObject({ reason: 'esp_bad_spi', stages: [{ stage: 'open' }] });
  });

  it('on an encrypted network with keys: the SA and its next number, the same before and after', () => {
    for (const p of paths) p.setKeys();
    const req = { network: 'red', src: '198.19.2.2' };
    const first = trace(req);
    expect(first).toMatchObject({ verdict: 'forward', outer: { dst: F.REMOTE_VTEP, esp: { seq: 1 } } });
    expect(first.stages.at(-1)?.detail).toMatch(/^ESP spi 0x[0-9a-f]{8}, next sequence number 1 \(not sealed/);
    expect(trace(req)).toEqual(first);
    expect(trace({ ...req, ingress: true, src: F.REMOTE_IP, dst: '198.19.2.2', vtep: F.REMOTE_VTEP })).toMatchObject({ verdict: 'deliver', outer: { esp: { seq: 1 } } });
  });

  it('refuses bad input with one clear line', () => {
    const err = (req: Partial<TraceRequest>): string => {
      try {
        runTrace(paths[0].ctx, { network: 'blue', src: F.LOCAL_IP, dst: F.REMOTE_IP, ...req });
      } catch (e) {
        return `${(e as OverlayError).code}: ${(e as Error).message}`;
      }
      return 'accepted';
    };
    expect(err({ network: 'green' })).toBe('NETWORK_NOT_FOUND: no network green');
    expect(err({ network: 'idle' })).toMatch(/^BAD_REQUEST: network idle has no endpoints on this host/);
    expect(err({ src: F.REMOTE_IP })).toBe(`BAD_REQUEST: --src ${F.REMOTE_IP} is not an endpoint of network blue on this host`);
    expect(err({ src: '198.19.1' })).toBe('BAD_REQUEST: --src 198.19.1 is not an IP address');
    expect(err({ dst: F.REMOTE_IP6 })).toMatch(/not of one IP family/);
    expect(err({ proto: 'tcp', dport: 70000 })).toBe('BAD_REQUEST: --dport must be a port number, 0–65535');
    expect(err({ sport: 1 })).toBe('BAD_REQUEST: --sport and --dport apply to tcp and udp');
    expect(err({ size: 10 })).toBe('BAD_REQUEST: --size must be 28–65535 bytes of IP for icmp over IPv4');
    expect(err({ proto: 'sctp' as never })).toBe('BAD_REQUEST: --proto must be one of icmp, tcp, udp, arp');
    expect(err({ proto: 'arp', size: 100 })).toBe('BAD_REQUEST: --size and --df do not apply to arp');
    expect(err({ vtep: F.REMOTE_VTEP })).toBe('BAD_REQUEST: --vtep goes with --ingress');
    expect(err({ ingress: true })).toMatch(/^BAD_REQUEST: --ingress needs --vtep/);
    expect(err({ dstMac: 'nope' })).toBe('BAD_REQUEST: --dst-mac nope is not a MAC address');
  });
});
