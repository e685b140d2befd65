/**
 * One end of the encrypted I/O test (esp-io.test.ts): a NativeDatapath in
 * the current network namespace (started with `ip netns exec`) with one
 * encrypted network on an existing TAP, keyed from the command line. Obeys
 * line commands on stdin, one JSON answer line each:
 *
 *   counters  → the datapath's counters
 *   sas       → securityAssociations()
 *   quit      → stops the datapath and exits
 *
 * Prints `{"ready":true,"espPort":N}` once forwarding.
 */
import type { EspCarrier } from '../../src/crypto/index.js';
import { NativeDatapath } from '../../src/dataplane/native.js';
import { reply, serveCommands } from './support.js';

/** What one encrypted peer needs to know. */
export interface EspPeerConfig {
  bindAddress: string;
  vni: number;
  tapName: string;
  mtu: number;
  carrier: EspCarrier;
  /** The network key (hex) and its tag. */
  keyHex: string;
  keyTag: number;
  /** The other side's endpoint: MAC, overlay IPv4, VTEP. */
  remote: { mac: string; ip: string; vtep: string };
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as EspPeerConfig;
  const dp = new NativeDatapath({ bindAddress: cfg.bindAddress, dataPort: 4789 });
  await dp.start();
  dp.addNetwork({ vni: cfg.vni, tapName: cfg.tapName, mtu: cfg.mtu, encryption: { carrier: cfg.carrier, keySize: 16, esn: true } });
  dp.fdbSet(cfg.vni, cfg.remote.mac, cfg.remote.vtep);
  dp.neighSet(cfg.vni, cfg.remote.ip, cfg.remote.mac);
  dp.setKeys(cfg.vni, { keys: [{ tag: cfg.keyTag, material: Buffer.from(cfg.keyHex, 'hex') }], sendTag: cfg.keyTag });
  reply({ ready: true, espPort: dp.espPort });
  await serveCommands(dp, cfg.vni, { counters: () => dp.counters(), sas: () => dp.securityAssociations() });
}

main().catch((err: Error) => {
  process.stderr.write(`esp peer failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
