/**
 * One end of the encrypted JsDatapath I/O test (esp-io.test.ts): runs a
 * JsDatapath inside the current network namespace (started with
 * `ip netns exec`) with encrypted networks on existing TAPs, and obeys line
 * commands on stdin, answering one JSON line each:
 *
 *   counters → the datapath's counters
 *   sas      → its security associations
 *   quit     → stops the datapath, answers {"stopped":true} and exits
 *
 * Argument: one JSON {@link EspPeerConfig}. Prints `{"ready":true,"espPort":N}` once forwarding.
 */
import { createInterface } from 'node:readline';
import type { EspCarrier } from '../../src/crypto/index.js';
import { JsDatapath } from '../../src/dataplane/js-datapath.js';

/** What one peer needs to know. */
export interface EspPeerConfig {
  bindAddress: string;
  dataPort: number;
  espPort: number;
  /** Each network with its key (tag and material as hex). */
  networks: { vni: number; tapName: string; mtu: number; carrier: EspCarrier; key: { tag: number; material: string } }[];
  /** The other side's endpoint on every network: MAC, overlay IPv4 address per VNI, VTEP. */
  remote: { mac: string; vtep: string; ips: Record<number, string> };
}

const reply = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as EspPeerConfig;
  const dp = new JsDatapath({ bindAddress: cfg.bindAddress, dataPort: cfg.dataPort, espPort: cfg.espPort, sourcePorts: 2 });
  await dp.start();
  for (const n of cfg.networks) {
    const key = { tag: n.key.tag, material: Buffer.from(n.key.material, 'hex') };
    dp.addNetwork({ vni: n.vni, tapName: n.tapName, mtu: n.mtu, encryption: { carrier: n.carrier, keySize: 16, esn: true } });
    dp.fdbSet(n.vni, cfg.remote.mac, cfg.remote.vtep);
    dp.neighSet(n.vni, cfg.remote.ips[n.vni]!, cfg.remote.mac);
    dp.setKeys(n.vni, { keys: [key], sendTag: key.tag });
  }
  reply({ ready: true, espPort: dp.espPort });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const cmd = line.trim();
    if (cmd === 'counters') reply(dp.counters());
    else if (cmd === 'sas') reply(dp.securityAssociations());
    else if (cmd === 'quit') {
      await dp.stop();
      reply({ stopped: true });
      process.exit(0);
    } else reply({ error: `unknown command ${cmd}` });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`esp peer failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
