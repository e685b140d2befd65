/**
 * Where the time of a TCP stream goes (issue 10, docs/performance.md): one
 * overlayd row (plain, or encrypted with --esp udp|ip) on the bench topology,
 * an iperf3 TCP ×1 test, and `perf record` of the whole machine (cpu-clock:
 * this VM has no hardware counters) while it runs. Prints the throughput and
 * the hottest symbols by process, and the share of the agents' samples by
 * part of the path (syscall entry, copies, checksums, AES-GCM, the pipeline,
 * TAP and UDP in the kernel).
 *
 *     npx tsx bench/profile.ts [--esp udp|ip] [--workers N] [--udp64] [--seconds 8] [--top 40]
 *
 * --udp64 profiles iperf3's UDP test with 64-byte datagrams (the packet-rate
 * column of `npm run bench`) instead of the TCP stream.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanStaleRuns, Topology } from '../src/testkit/netns.js';
import { haveRoot, haveTools } from '../src/testkit/ci.js';
import { runIperf3 } from './lib/iperf3.js';
import { overlaydOverlay } from './lib/overlayd.js';

/** Parts of the path, by symbol name (first match wins); the rest is "other". */
const PARTS: [string, RegExp][] = [
  ['AES-GCM (OpenSSL)', /aes|gcm|ghash|gf128|EVP_|ossl_|CRYPTO_/i],
  ['checksums', /csum|checksum/i],
  ['copies (user ↔ kernel, memmove)', /memcpy|memmove|copy_user|copy_to_iter|copy_from_iter|_copy_|check_object_size|virt_addr_valid/i],
  ['busy polling', /worker_main|pread/],
  ['pipeline (dp_*, TSO, GRO, batching, tables)', /^dp_|tso_segment|gro_|offload_|egress_|ingress_|udp_batch|oa_get|^tables_|^net_/],
  ['wake-ups, scheduling, syscall entry', /sock_def_readable|wake_up|ttwu|finish_task_switch|schedule|irqentry|entry_SYSCALL|syscall|do_syscall|futex|epoll|ep_poll|pick_next|switch_|fdget|readv|writev|sendmmsg|recvmmsg/],
  ['TAP (tun.c)', /^tun_|tap_/],
  ['UDP/IP, veth, bridge (kernel)', /^udp|^ip_|^ip6_|__ip|skb_|__udp|inet_|sock_|netif_|napi_|__netif|dev_|veth_|br_|fib_|tcp_|nf_|neigh_|kmem_|kmalloc|kfree|__alloc|page_|slab/],
  ['the agent\'s JavaScript (control plane)', /^Builtins_|v8::|^node::|uv_|^Runtime_/],
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { esp: { type: 'string' }, workers: { type: 'string' }, udp64: { type: 'boolean', default: false }, seconds: { type: 'string', default: '8' }, top: { type: 'string', default: '40' } },
  });
  if (!haveRoot() || !haveTools('perf', 'iperf3', 'ip')) throw new Error('the profile needs root, perf, iperf3 and ip');
  const esp = values.esp as 'udp' | 'ip' | undefined;
  if (esp !== undefined && esp !== 'udp' && esp !== 'ip') throw new Error('--esp must be udp or ip');
  const seconds = Number(values.seconds);
  cleanStaleRuns();
  const dir = mkdtempSync(join(tmpdir(), 'overlayd-profile-'));
  const topo = await Topology.create({ hosts: 2 });
  try {
    const row = await overlaydOverlay(topo, {
      datapath: 'native',
      ...(esp && { encrypted: { carrier: esp } }),
      ...(values.workers !== undefined && { workers: Number(values.workers) }),
    });
    try {
      const data = join(dir, 'perf.data');
      const result = await runIperf3({
        serverNs: row.server.ns,
        serverAddr: row.server.addr4,
        clientNs: row.client.ns,
        seconds: seconds + 2,
        ...(values.udp64 && { protocol: 'udp' as const, udpPayload: 64 }),
        around: async (client) => {
          const perf = spawn('perf', ['record', '-a', '-g', '-e', 'cpu-clock', '-F', '1999', '-o', data, '--', 'sleep', String(seconds)], { stdio: 'ignore' });
          const recorded = new Promise((r) => perf.once('exit', r)); // before the client: perf's 8 s end before iperf3's 10 s
          const out = await client();
          await recorded;
          return out;
        },
      });
      const what = values.udp64
        ? `UDP 64 B ${(result.packetsPerSecond / 1000).toFixed(0)} kpps`
        : `TCP ×1 ${result.gbps.toFixed(2)} Gbit/s, ${result.retransmits} retransmits`;
      console.log(`${row.name}: ${what}\n`);
      report(samples(execFileSync('perf', ['script', '-i', data, '-F', 'comm,ip,sym'], { encoding: 'utf8', maxBuffer: 1 << 30 })), Number(values.top));
    } finally {
      await row.destroy();
    }
  } finally {
    await topo.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Frames a sample is not charged to. Without a PMU the cpu-clock interrupt is
 * taken only when interrupts are enabled again, so the time of a region run
 * with them off (softirq: the packet's way through veth, bridge, TAP) lands on
 * the enabling call; it is charged to the first caller outside that code.
 */
const IRQ_FRAMES = /irq_enable|irqrestore|local_bh_enable|do_softirq|__do_softirq|irq_exit|handle_softirqs|sysvec_|asm_sysvec|\[unknown\]/;

/** perf script output (comm, then a stack per sample) → samples per (process, charged symbol). */
function samples(text: string): { pct: number; comm: string; sym: string }[] {
  const counts = new Map<string, number>();
  let total = 0;
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    if (lines.length < 2) continue;
    const comm = lines[0].trim().split(/\s+/)[0];
    const frames = lines.slice(1).map((l) => l.trim().split(/\s+/)[1]?.replace(/\+0x[0-9a-f]+$/, '') ?? '?');
    const sym = frames.find((f) => !IRQ_FRAMES.test(f)) ?? frames[0];
    const key = `${comm}\t${sym}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    total++;
  }
  return [...counts]
    .map(([key, n]) => ({ pct: (100 * n) / total, comm: key.split('\t')[0], sym: key.split('\t')[1] }))
    .sort((a, b) => b.pct - a.pct);
}

/** Prints the top symbols and the agents' samples by part of the path. */
function report(rows: { pct: number; comm: string; sym: string }[], top: number): void {
  console.log('| % of all samples | process | symbol |\n| ---: | --- | --- |');
  for (const r of rows.slice(0, top)) console.log(`| ${r.pct.toFixed(2)} | ${r.comm} | \`${r.sym}\` |`);
  const agent = rows.filter((r) => r.comm === 'node' || r.comm.startsWith('overlayd'));
  const total = agent.reduce((a, r) => a + r.pct, 0);
  const parts = new Map<string, number>();
  for (const r of agent) {
    const part = PARTS.find(([, re]) => re.test(r.sym))?.[0] ?? 'other';
    parts.set(part, (parts.get(part) ?? 0) + r.pct);
  }
  console.log(`\nThe agents' processes: ${total.toFixed(1)}% of all samples (2 CPUs = 200%), by part of the path:\n`);
  console.log('| part | % of the agents\' samples |\n| --- | ---: |');
  for (const [part, pct] of [...parts].sort((a, b) => b[1] - a[1])) console.log(`| ${part} | ${((100 * pct) / total).toFixed(1)} |`);
}

main().catch((err: Error) => {
  console.error(`profile: ${err.message}`);
  process.exit(1);
});
