/**
 * One end of the native smoke topology: runs a NativeDatapath inside the
 * current network namespace (started with `ip netns exec`) and obeys
 * line commands on stdin, answering one JSON line on stdout each:
 *
 *   counters              → the datapath's counters
 *   offloads              → what TSO/GSO/GRO did
 *   capture on|off|stall  → mirrors the network's frames to this process (counted);
 *                           `stall` blocks the event loop 2 s in the first callback
 *   captured              → {egress, ingress, vteps}: frames captured so far and the VTEPs seen
 *   send HOST PORT HEX    → sends one raw UDP datagram from a separate socket (garbage tests)
 *   quit                  → stops the datapath and exits
 *
 * Arguments: one JSON {@link PeerConfig}. Prints `{"ready":true,"port":N}` once forwarding.
 */
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { NativeDatapath } from '../../src/dataplane/native.js';

/** How long `capture stall` blocks: longer than a 4 MB transfer takes on a loaded machine, so the punt queue fills. */
const STALL_MS = 2000;

/** What one peer needs to know. */
export interface PeerConfig {
  /** Underlay address to bind (this namespace's veth address). */
  bindAddress: string;
  dataPort: number;
  vni: number;
  /** Existing (persistent) TAP to attach. */
  tapName: string;
  mtu: number;
  /** Source-pool size (default: the datapath's). */
  sourcePorts?: number;
  /** UDP segmentation offload on the TAP (default: the datapath's, on where the kernel has it). */
  udpOffload?: boolean;
  /** The other side's endpoints: MAC, overlay IPv4 (and IPv6) address, VTEP. */
  remotes: { mac: string; ip: string; ip6?: string; vtep: string }[];
}

function reply(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as PeerConfig;
  const dp = new NativeDatapath({ bindAddress: cfg.bindAddress, dataPort: cfg.dataPort, sourcePorts: cfg.sourcePorts, udpOffload: cfg.udpOffload });
  dp.addNetwork({ vni: cfg.vni, tapName: cfg.tapName, mtu: cfg.mtu });
  for (const r of cfg.remotes) {
    dp.fdbSet(cfg.vni, r.mac, r.vtep);
    dp.neighSet(cfg.vni, r.ip, r.mac);
    if (r.ip6 !== undefined) dp.neighSet(cfg.vni, r.ip6, r.mac);
  }
  await dp.start();
  const udp = createSocket(cfg.bindAddress.includes(':') ? 'udp6' : 'udp4');
  reply({ ready: true, port: dp.dataPort });

  const captured = { egress: 0, ingress: 0, vteps: new Set<string>() };
  const lines = createInterface({ input: process.stdin });
  const quit = async (): Promise<void> => {
    await dp.stop();
    dp.removeNetwork(cfg.vni);
    udp.close();
    process.exit(0);
  };
  lines.on('close', () => void quit());
  for await (const line of lines) {
    const [cmd, ...args] = line.trim().split(/\s+/);
    if (cmd === 'counters') reply(dp.counters());
    else if (cmd === 'offloads') reply(dp.offloadStats());
    else if (cmd === 'capture') {
      let stall = args[0] === 'stall';
      dp.setCapture(cfg.vni, args[0] === 'off' ? null : (f) => {
        if (stall) {
          stall = false;
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, STALL_MS);
        }
        captured[f.direction]++;
        if (f.vtep !== undefined) captured.vteps.add(f.vtep);
      });
      reply({ capture: args[0] !== 'off' });
    } else if (cmd === 'captured') reply({ egress: captured.egress, ingress: captured.ingress, vteps: [...captured.vteps] });
    else if (cmd === 'send') {
      const [host, port, hex] = args;
      udp.send(Buffer.from(hex ?? '', 'hex'), Number(port), host, (err) => reply({ sent: !err, error: err?.message }));
    } else if (cmd === 'quit') await quit();
    else reply({ error: `unknown command ${cmd}` });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`peer failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
