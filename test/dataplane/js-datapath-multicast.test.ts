/**
 * The JsDatapath's multicast I/O on a real TAP against the kernel's own MLDv2
 * host: the TAP is opened by the path, then moved into a namespace host and
 * brought up there. A general query written with injectFrame must come back
 * from the kernel as MLD reports, which the path hands to the membership
 * listener and never sends; the group table is kept per attached network.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { JsDatapath } from '../../src/dataplane/js-datapath.js';
import { buildGeneralQuery, findMembershipMessage, querierAddress } from '../../src/dataplane/multicast/membership-frames.js';
import { haveNetns, requirement } from '../../src/testkit/ci.js';
import { parseMac } from '../../src/wire/index.js';
import { useTopology } from '../helpers/vitest-topology.js';

const VNI = 4242;
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

describe.skipIf(!requirement(haveNetns(), 'needs root and ip'))('JsDatapath multicast on a TAP in a namespace host', () => {
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
    dp = new JsDatapath({ bindAddress: '127.0.0.1', dataPort: 0, sourcePorts: 1 });
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
});
