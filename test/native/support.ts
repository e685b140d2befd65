/**
 * Shared helpers of the native tests: whether the addon is built (a missing
 * build skips locally, fails under CI), and a NativeDatapath set up with the
 * tables test/dataplane/frames.ts expects.
 */
import { createInterface } from 'node:readline';
import { loadAddon } from '../../src/dataplane/addon.js';
import { NativeDatapath } from '../../src/dataplane/native.js';
import { requirement } from '../../src/testkit/ci.js';
import * as F from '../../src/testkit/frames.js';

function addonBuilt(): boolean {
  try {
    return loadAddon().supported;
  } catch {
    return false;
  }
}

/** True when the addon is built and supported here; locally false (skip) otherwise, under CI a failure. */
export const haveAddon = (): boolean => requirement(addonBuilt(), 'native addon not built or not supported here (npm run build:native)');

/** A datapath (not started) with network F.VNI (no TAP) and the remote endpoint of frames.ts in its tables. */
export function datapathWithRemote(): NativeDatapath {
  const dp = new NativeDatapath({ bindAddress: '127.0.0.1', dataPort: 0 });
  dp.addDetachedNetwork(F.VNI, F.MTU);
  dp.fdbSet(F.VNI, F.REMOTE_MAC, F.REMOTE_VTEP);
  dp.neighSet(F.VNI, F.REMOTE_IP, F.REMOTE_MAC);
  dp.neighSet(F.VNI, F.REMOTE_IP6, F.REMOTE_MAC);
  return dp;
}

/** One JSON answer line on stdout (the peer scripts' protocol). */
export const reply = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);

/**
 * The command loop of a peer script running a NativeDatapath in a namespace
 * (esp-peer.ts, multicast-peer.ts): one JSON answer line per command line on
 * stdin, from `commands` by the line's first word (the rest its arguments);
 * `quit`, or the end of stdin, stops the datapath, removes network `vni` and exits.
 */
export async function serveCommands(dp: NativeDatapath, vni: number, commands: Record<string, (args: string[]) => unknown>): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  const quit = async (): Promise<void> => {
    await dp.stop();
    dp.removeNetwork(vni);
    process.exit(0);
  };
  lines.on('close', () => void quit());
  for await (const line of lines) {
    const [cmd = '', ...args] = line.trim().split(/\s+/);
    if (cmd === 'quit') await quit();
    else if (cmd in commands) reply(commands[cmd](args));
    else reply({ error: `unknown command ${cmd}` });
  }
}
