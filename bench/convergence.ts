/**
 * Cluster convergence benchmark (issue "Agents form the overlay"): the time
 * from `overlayctl endpoint attach` on one host until the new endpoint
 * answers pings from every other host, for clusters of several sizes —
 * median and worst of N attaches. The goal is under 1 s at 50 agents.
 *
 * Each size gets its own topology: one host namespace per agent, agents
 * 2..n joined to agent 1 by gossip, one network, a probe container on every
 * host (bench/lib/convergence/cluster.ts). Each attach lands on another host
 * and is pinged from every other host's probe, with ARP retried every few
 * milliseconds so the kernel's 1 s retry does not quantise the result
 * (attach-round.ts). Everything is removed at the end, also on failure.
 *
 * Besides median and worst, the table splits the time: what starting
 * overlayctl costs on the machine right now, when the attaching agent
 * committed (its log line), and commit → last reply, the cluster's own share
 * (delivery to every agent, table update, one ARP retry, one round trip).
 *
 *   npx tsx bench/convergence.ts [--agents 5,50] [--attaches 10] [--datapath native|js]
 *        [--ping-interval-ms 20] [--retrans-ms 20] [--deadline-s 20] [--settle-ms 1000] [--signed]
 *
 * `--signed`: every agent with a certificate of one throw-away CA and
 * --require-signed, so entries are signed and checked (docs/identity.md).
 *
 * Needs root, ip, ping, sysctl and stdbuf; builds on dist/ (`npm run build`).
 */
import { haveRoot, haveTools } from '../src/testkit/ci.js';
import { measureAttach, measureCommandStartup, type AttachSample } from './lib/convergence/attach-round.js';
import { ConvergenceCluster, MAX_HOSTS } from './lib/convergence/cluster.js';
import { ConvergenceError } from './lib/convergence/errors.js';
import { describeSample, summarise, SUMMARY_COLUMNS, type SummaryKey } from './lib/convergence/summary.js';
import { renderTable, type ResultRow } from './lib/table.js';
import { signedCluster, type SignedCluster } from './lib/convergence/signed.js';

/** The benchmark's options, from the command line. */
interface BenchOptions {
  agents: number[];
  attaches: number;
  datapath: 'native' | 'js';
  pingIntervalMs: number;
  retransMs: number;
  deadlineS: number;
  settleMs: number;
  signed: boolean;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

function positiveInt(name: string, fallback: string): number {
  const v = Number(arg(name, fallback));
  if (!Number.isInteger(v) || v < 1) throw new ConvergenceError('BAD_ARGUMENT', `--${name} must be a positive integer`);
  return v;
}

function parseOptions(): BenchOptions {
  const agents = arg('agents', '5,50').split(',').map(Number);
  if (agents.some((n) => !Number.isInteger(n) || n < 2 || n > MAX_HOSTS)) {
    throw new ConvergenceError('BAD_ARGUMENT', `--agents takes sizes of 2–${MAX_HOSTS}, comma-separated`);
  }
  const datapath = arg('datapath', 'native');
  if (datapath !== 'native' && datapath !== 'js') throw new ConvergenceError('BAD_ARGUMENT', '--datapath must be native or js');
  const attaches = positiveInt('attaches', '10');
  if (attaches > MAX_HOSTS) throw new ConvergenceError('BAD_ARGUMENT', `--attaches must be at most ${MAX_HOSTS}`);
  return {
    agents,
    attaches,
    datapath,
    pingIntervalMs: positiveInt('ping-interval-ms', '20'),
    retransMs: positiveInt('retrans-ms', '20'),
    deadlineS: positiveInt('deadline-s', '20'),
    settleMs: positiveInt('settle-ms', '1000'),
    signed: process.argv.includes('--signed'),
  };
}

const log = (message: string): void => console.error(`[${new Date().toISOString().slice(11, 23)}] ${message}`);

/** Builds a cluster of `size` agents, runs the attaches, tears it down. */
async function runSize(size: number, opts: BenchOptions, signed?: SignedCluster): Promise<{ samples: AttachSample[]; ctlStartupMs: number }> {
  log(`--- ${size} agents (${opts.datapath} data path${signed ? ', signed entries' : ''}) ---`);
  const cluster = await ConvergenceCluster.start({ agents: size, datapath: opts.datapath, retransMs: opts.retransMs, startBatch: 10, log, hostArgs: signed?.hostArgs });
  try {
    const samples: AttachSample[] = [];
    const ctlStartupMs = await measureCommandStartup(cluster);
    log(`overlayctl status takes ${ctlStartupMs} ms (median of 3): start-up cost inside every attach`);
    for (let round = 0; round < opts.attaches; round++) {
      // Let the previous attach's gossip die down, so each attach starts from rest.
      await new Promise((r) => setTimeout(r, opts.settleMs));
      const sample = await measureAttach(cluster, { round, rounds: opts.attaches, pingIntervalMs: opts.pingIntervalMs, deadlineS: opts.deadlineS });
      log(describeSample(sample));
      samples.push(sample);
    }
    return { samples, ctlStartupMs };
  } finally {
    await cluster.destroy();
  }
}

async function main(): Promise<void> {
  const opts = parseOptions();
  if (!haveRoot() || !haveTools('ip', 'ping', 'sysctl', 'stdbuf')) {
    console.error('skipped: the convergence benchmark needs root, ip, ping, sysctl and stdbuf');
    process.exit(2);
  }
  const rows: ResultRow<SummaryKey>[] = [];
  const signed = opts.signed ? await signedCluster() : undefined;
  try {
    for (const size of opts.agents) {
      const { samples, ctlStartupMs } = await runSize(size, opts, signed);
      rows.push(summarise(`${size} agents${signed ? ', signed' : ''}`, samples, ctlStartupMs));
    }
  } finally {
    signed?.remove();
  }
  console.log(
    `\nConvergence: \`endpoint attach\` until every other host's probe got an echo reply; ${opts.attaches} attaches per size, ` +
      `${opts.datapath} data path, one host namespace per agent, ARP retried every ${opts.retransMs} ms, ping every ${opts.pingIntervalMs} ms.\n`,
  );
  console.log(renderTable(SUMMARY_COLUMNS, rows));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
