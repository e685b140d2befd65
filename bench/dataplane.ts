/**
 * The data-plane benchmark (issues 2, 5 and 10): overlayd native and js,
 * plain and encrypted (ESP over protocol 50 and ESP-in-UDP), the kernel's
 * VXLAN, wireguard-go and Nebula on the same 2-host namespace topology, in one run, each with
 * the same suite (iperf3 TCP ×1 and ×4, UDP 64-byte packet rate, ping RTT;
 * medians of --runs), printed with ratios to the kernel, and beside them the
 * CPU the tunnel used during TCP ×1 (cores, and Gbit/s per core).
 *
 *     npm run bench -- [--runs 3] [--seconds 5] [--json FILE] [--only kernel,native,native-w1,native-nopoll,native-rt,native-esp,native-esp-udp,js,js-esp,wireguard,nebula]
 *
 * native-w1 is overlayd native with `--workers 1`: beside the default (a
 * worker per CPU), it shows what the extra workers bring. native-nopoll
 * and native-rt (not in the default list) turn adaptive busy polling off,
 * and run the workers SCHED_FIFO.
 *
 * The bar of issue 5: native-esp at least 2× wireguard-go on one TCP stream.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { cleanStaleRuns } from '../src/testkit/netns.js';
import { haveRoot, haveTools } from '../src/testkit/ci.js';
import { BASELINE_ROW, CPU_FOOTNOTE, SUITE_COLUMNS, measureAll, type OverlayBuilder } from './baselines.js';
import { kernelVxlanOverlay } from './lib/kernel-vxlan.js';
import { NEBULA_TOOLS, nebulaOverlay } from './lib/nebula.js';
import { overlaydOverlay } from './lib/overlayd.js';
import { renderTable } from './lib/table.js';
import { wireguardOverlay } from './lib/wireguard.js';

const ROWS: Record<string, OverlayBuilder> = {
  kernel: kernelVxlanOverlay,
  native: (t) => overlaydOverlay(t, { datapath: 'native' }),
  'native-w1': (t) => overlaydOverlay(t, { datapath: 'native', workers: 1 }),
  'native-nopoll': (t) => overlaydOverlay(t, { datapath: 'native', busyPollUs: 0 }),
  'native-rt': (t) => overlaydOverlay(t, { datapath: 'native', realtime: true }),
  'native-esp': (t) => overlaydOverlay(t, { datapath: 'native', encrypted: { carrier: 'ip' } }),
  'native-esp-udp': (t) => overlaydOverlay(t, { datapath: 'native', encrypted: { carrier: 'udp' } }),
  js: (t) => overlaydOverlay(t, { datapath: 'js' }),
  'js-esp': (t) => overlaydOverlay(t, { datapath: 'js', encrypted: { carrier: 'ip' } }),
  wireguard: wireguardOverlay,
  nebula: nebulaOverlay,
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '5' },
      json: { type: 'string' },
      only: { type: 'string', default: 'kernel,native,native-w1,native-esp,native-esp-udp,js,wireguard,nebula' },
    },
  });
  if (!haveRoot()) throw new Error('the benchmark needs root (network namespaces and TAP devices)');
  const wanted = values.only.split(',');
  for (const w of wanted) if (!ROWS[w]) throw new Error(`unknown row "${w}"; rows: ${Object.keys(ROWS).join(', ')}`);
  const tools = [
    'ip',
    'iperf3',
    'ping',
    ...(wanted.includes('wireguard') ? ['wireguard-go'] : []),
    ...(wanted.includes('nebula') ? NEBULA_TOOLS : []),
  ];
  if (!haveTools(...tools)) throw new Error(`the benchmark needs ${tools.join(', ')}`);
  cleanStaleRuns();
  const failed: string[] = [];
  const results = await measureAll(
    wanted.map((w) => ROWS[w]),
    { runs: Number(values.runs), seconds: Number(values.seconds) },
    {
      // A row that cannot run (e.g. a flag the agent does not have yet) is reported; the others are still measured.
      onRowError: (index, error) => {
        const why = error instanceof Error ? error.message : String(error);
        process.stderr.write(`row ${wanted[index]} failed: ${why}\n`);
        const lines = why.trim().split('\n');
        failed.push(`${wanted[index]}: ${lines.length > 1 ? `${lines[0]} … ${lines.at(-1)}` : lines[0]}`); // the last line of a log says why
      },
    },
  );
  const rows = [...results].map(([name, r]) => ({ name, values: r }));
  console.log(`${renderTable(SUITE_COLUMNS, rows, results.has(BASELINE_ROW) ? BASELINE_ROW : undefined)}\n\n${CPU_FOOTNOTE}`);
  if (failed.length > 0) {
    console.log(`\nNot measured (failed):\n${failed.map((f) => `- ${f}`).join('\n')}`);
    process.exitCode = 1;
  }
  if (values.json) writeFileSync(values.json, JSON.stringify(Object.fromEntries(results), null, 2));
}

main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});
