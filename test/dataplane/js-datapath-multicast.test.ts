/**
 * The JsDatapath's multicast I/O on a real TAP against the kernel's own MLDv2
 * host: the TAP is opened by the path, then moved into a namespace host and
 * brought up there. A general query written with injectFrame must come back
 * from the kernel as MLD reports, which the path hands to the membership
 * listener and never sends; the group table is kept per attached network.
 * Then the kernel pings all nodes (ff02::1): each VTEP of the network gets
 * its own VXLAN datagram of the same frame.
 */
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { afterAll, describe, expect, it } from 'vitest';
import { JsDatapath } from '../../src/dataplane/js-datapath.js';
import { buildGeneralQuery, findMembershipMessage, querierAddress } from '../../src/dataplane/multicast/membership-frames.js';
import { haveNetns, haveTool, requirement } from '../../src/testkit/ci.js';
import { decodeVxlan, parseMac } from '../../src/wire/index.js';
import { useTopology } from '../helpers/vitest-topology.js';

const VNI = 4242;
/** The data port of the path (127.0.0.1) and of the two VTEPs it replicates to (127.0.0.2, 127.0.0.3). */
const DATA_PORT = 40000 + (process.pid % 20000);
const QUERIER = querierAddress(parseMac('02:42:c6:13:4d:01'));

describe('JsDatapath multicast without a TAP', () => {
  it('ignores groupSet for a network not attached and cannot inject into one', () => {
    const dp = new JsDatapath({ bindAddress: '127.0.0.1', dataPort: 0 });
    dp.groupSet(VNI, '01:00:5e:01:02:03', ['198.18.0.2']);
    expect(dp.groups(VNI).size).toBe(0);
    expect(dp.injectFrame(VNI, buildGeneralQuery(6, QUERIER, { maxRespMs: 1000, intervalS: 125 }))).toBe(false);
    expect(dp.counters().drops.tap_write).toBe(0);
  });
});

describe.skipIf(!requirement(haveNetns() && haveTool('ping'), 'needs root, ip and ping'))('JsDatapath multicast on a TAP in a namespace host', () => {
  const topo = useTopology({ hosts: 1 });
  let dp: JsDatapath | undefined;
  afterAll(async () => {
    await dp?.stop();
  });

  /** Waits up to `ms` for `test` to hold. */
  const until = async (test: () => boolean, ms: number): Promise<boolean> => {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (test()) return true;
    return test();
  };

  it('writes a general query into the TAP and hands the kernel’s MLD reports to the listener, sending nothing', async () => {
    const ns = topo().host(1).ns;
    const tapName = topo().names.link('mt');
    dp = new JsDatapath({ bindAddress: '127.0.0.1', dataPort: DATA_PORT, sourcePorts: 1 });
    await dp.start();
    dp.addNetwork({ vni: VNI, tapName, mtu: 1450, multicast: { rate: 0 } });
    dp.groupSet(VNI, '33:33:00:00:00:fb', ['198.18.0.3', '198.18.0.2']);
    expect(dp.groups(VNI)).toEqual(new Map([['33:33:00:00:00:fb', ['198.18.0.2', '198.18.0.3']]]));
    const heard: Buffer[] = [];
    dp.setMembershipListener((vni, frame) => {
      if (vni === VNI) heard.push(frame);
    });
    // Opened here, used there: the descriptor stays the device's as it moves.
    execFileSync('ip', ['link', 'set', 'dev', tapName, 'netns', ns]);
    await topo().exec(ns, ['ip', 'link', 'set', 'dev', tapName, 'up']);
    await topo().exec(ns, ['ip', 'addr', 'add', '2001:db8:77::1/64', 'dev', tapName, 'nodad']);

    // The kernel listens to the solicited-node group of the address it was given. Only a query makes it
    // send current-state records (IS_EXCLUDE); joining on its own it reports state changes (TO_EXCLUDE).
    const reported = (f: Buffer): boolean => {
      const m = findMembershipMessage(f)?.message;
      return m?.kind === 'report' && m.records.some((r) => r.group === 'ff02::1:ff00:1' && r.type === 'is_exclude');
    };
    const query = buildGeneralQuery(6, QUERIER, { maxRespMs: 500, intervalS: 125 });
    const answered = await until(() => {
      expect(dp!.injectFrame(VNI, query)).toBe(true); // repeated until answered: the kernel may still be bringing IPv6 up
      return heard.some(reported);
    }, 8000);
    expect(answered).toBe(true);
    expect(heard.every((f) => findMembershipMessage(f)?.family === 6)).toBe(true);
    const c = dp.counters();
    expect(c.tx.packets).toBe(0);
    expect(c.drops.tap_write).toBe(0);
    expect(c.multicast.frames).toBe(0);
  });

  it('sends a link-local group frame from the TAP to every VTEP of the network, one datagram each', async () => {
    const ns = topo().host(1).ns;
    const tapName = topo().names.link('mt');
    const got = new Map<string, Buffer[]>();
    const sockets = await Promise.all(['127.0.0.2', '127.0.0.3'].map((vtep) => listen(vtep, (msg) => got.set(vtep, [...(got.get(vtep) ?? []), msg]))));
    try {
      dp!.fdbSet(VNI, '02:42:c6:13:4d:02', '127.0.0.2');
      dp!.fdbSet(VNI, '02:42:c6:13:4d:03', '127.0.0.3');
      await topo().exec(ns, ['ping', '-6', '-c', '3', '-i', '0.2', '-w', '3', '-I', tapName, 'ff02::1']).catch(() => undefined); // answered or not: the requests are what counts
      expect(await until(() => (got.get('127.0.0.2')?.length ?? 0) >= 3 && (got.get('127.0.0.3')?.length ?? 0) >= 3, 3000)).toBe(true);
      const echoes = (vtep: string): Buffer[] => got.get(vtep)!.filter((d) => decodeVxlan(d).vni === VNI && d.readUInt16BE(8 + 12) === 0x86dd && d[8 + 54] === 128);
      expect(echoes('127.0.0.2').length).toBeGreaterThanOrEqual(3);
      expect(echoes('127.0.0.2')).toEqual(echoes('127.0.0.3'));
      const c = dp!.counters();
      expect(c.multicast.copies).toBe(2 * c.multicast.frames);
      expect(c.drops.udp_send).toBe(0);
    } finally {
      for (const s of sockets) s.close();
    }
  });
});

/** A UDP socket on `address`:DATA_PORT handing every datagram to `onMessage`. */
function listen(address: string, onMessage: (msg: Buffer) => void): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.on('message', onMessage);
    socket.bind(DATA_PORT, address, () => resolve(socket));
  });
}
