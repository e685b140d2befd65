/**
 * The NativeDatapath of the multicast I/O test (multicast-io.test.ts), in
 * the current network namespace (started with `ip netns exec`): one
 * multicast network on a TAP it opens, with the VTEPs and groups of its
 * configuration. Obeys line commands on stdin, one JSON answer line each:
 *
 *   counters     → the datapath's counters
 *   memberships  → the IGMP/MLD frames the membership listener got (hex)
 *   inject VNI HEX → injectFrame's answer
 *   quit         → stops the datapath and exits
 *
 * Prints `{"ready":true}` once forwarding.
 */
import { NativeDatapath } from '../../src/dataplane/native.js';
import { reply, serveCommands } from './support.js';

/** What the peer needs to know. */
export interface MulticastPeerConfig {
  bindAddress: string;
  vni: number;
  tapName: string;
  mtu: number;
  rate: number;
  /** FDB entries: [MAC, VTEP]; they make the network's VTEP set. */
  fdb: [string, string][];
  /** Group table: [group MAC, VTEPs]. */
  groups: [string, string[]][];
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as MulticastPeerConfig;
  const dp = new NativeDatapath({ bindAddress: cfg.bindAddress, dataPort: 4789, workers: 2 });
  dp.addNetwork({ vni: cfg.vni, tapName: cfg.tapName, mtu: cfg.mtu, multicast: { rate: cfg.rate } });
  for (const [mac, vtep] of cfg.fdb) dp.fdbSet(cfg.vni, mac, vtep);
  for (const [mac, vteps] of cfg.groups) dp.groupSet(cfg.vni, mac, vteps);
  const memberships: string[] = [];
  dp.setMembershipListener((vni, frame) => memberships.push(`${vni}:${frame.toString('hex')}`));
  await dp.start();
  reply({ ready: true });
  await serveCommands(dp, cfg.vni, {
    counters: () => dp.counters(),
    memberships: () => memberships,
    inject: ([vni, hex]) => dp.injectFrame(Number(vni), Buffer.from(hex ?? '', 'hex')),
  });
}

main().catch((err: Error) => {
  process.stderr.write(`multicast peer failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
