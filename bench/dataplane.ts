/**
 * The data-plane benchmark (issues 2 and 5): overlayd native and js, plain
 * and encrypted (ESP over protocol 50 and ESP-in-UDP), the kernel's VXLAN and
 * wireguard-go on the same 2-host namespace topology, in one run, each with
 * the same suite (iperf3 TCP ×1 and ×4, UDP 64-byte packet rate, ping RTT;
 * medians of --runs), printed with ratios to the kernel, and beside them the
 * CPU the tunnel used during TCP ×1 (cores, and Gbit/s per core).
 *
 *     npm run bench -- [--runs 3] [--seconds 5] [--json FILE] [--only kernel,native,native-esp,native-esp-udp,js,js-esp,wireguard]
 *
 * The bar of issue 5: native-esp at least 2× wireguard-go on one TCP stream.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { cleanStaleRuns } from '../src/testkit/netns.js';
import { haveRoot, haveTools } from '../src/testkit/ci.js';
import { BASELINE_ROW, CPU_FOOTNOTE, SUITE_COLUMNS, measureAll, type OverlayBuilder } from './baselines.js';
import { kernelVxlanOverlay } from './lib/kernel-vxlan.js';
import { overlaydOverlay } from './lib/overlayd.js';
import { renderTable } from './lib/table.js';
import { wireguardOverlay } from './lib/wireguard.js';

const ROWS: Record<string, OverlayBuilder> = {
  kernel: kernelVxlanOverlay,
  native: (t) => overlaydOverlay(t, { datapath: 'native' }),
  'native-esp': (t) => overlaydOverlay(t, { datapath: 'native', encrypted: { carrier: 'ip' } }),
  'native-esp-udp': (t) => overlaydOverlay(t, { datapath: 'native', encrypted: { carrier: 'udp' } }),
  js: (t) => overlaydOverlay(t, { datapath: 'js' }),
  'js-esp': (t) => overlaydOverlay(t, { datapath: 'js', encrypted: { carrier: 'ip' } }),
  wireguard: wireguardOverlay,
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '5' },
      json: { type: 'string' },
      only: { type: 'string', default: 'kernel,native,native-esp,native-esp-udp,js,wireguard' },
    },
  });
  if (!haveRoot()) throw new Error('the benchmark needs root (network namespaces and TAP devices)');
  const wanted = values.only.split(',');
  for (const w of wanted) if (!ROWS[w]) throw new Error(`unknown row "${w}"; rows: ${Object.keys(ROWS).join(', ')}`);
  const tools = ['ip', 'iperf3', 'ping', ...(wanted.includes('wireguard') ? ['wireguard-go'] : [])];
  if (!haveTools(...tools)) throw new Error(`the benchmark needs ${tools.join(', ')}`);
  cleanStaleRuns();
  const results = await measureAll(
    wanted.map((w) => ROWS[w]),
    { runs: Number(values.runs), seconds: Number(values.seconds) },
  );
  const rows = [...results].map(([name, r]) => ({ name, values: r }));
  console.log(`${renderTable(SUITE_COLUMNS, rows, results.has(BASELINE_ROW) ? BASELINE_ROW : undefined)}\n\n${CPU_FOOTNOTE}`);
  if (values.json) writeFileSync(values.json, JSON.stringify(Object.fromEntries(results), null, 2));
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});
