/**
 * The perf worker: the small program `overlayctl perf` runs inside a test
 * endpoint's network namespace, so the measured traffic takes the real path
 * (veth → bridge → TAP → encapsulation → underlay → … → the other side's TAP).
 * Node built-ins only: it is started by path (`unshare --net`, `nsenter`,
 * `ip netns exec`), never imported.
 *
 *   serve [--max-seconds N]   TCP callback on 5201 (given a port, connects back
 *                             to the asker there, reads until it ends, answers
 *                             the byte count), UDP echo on 5202, TCP source on
 *                             5203 (sends for the milliseconds it is asked);
 *                             prints "ready"; exits after N s
 *   rtt --to IP [--count N] [--wait-ms N] [--max-seconds N]
 *                             waits for a first echo, then N probes one at a
 *                             time → {reachable, sent, received, lossPct, rttP50Ms, rttP99Ms, rttMinMs, rttMaxMs}
 *   reach --to IP[,IP…] [--wait-ms N]
 *                             probes every address at once until each echoes
 *                             → {results: [{to, reachable, rttMs}]} (the demo's check)
 *   receive --to IP --seconds S [--streams N]
 *                             N TCP streams from IP's source for S s → {bytes, seconds, gbps}
 *   send --to IP --seconds S [--streams N]
 *                             N TCP streams to IP for S s, through its callback → {bytes, seconds, gbps}
 *
 * The receiver is always the side that connected: a connected socket reads
 * into one preallocated 1 MiB buffer (`onread`), while one a server accepted
 * reads into a new 64 KiB buffer each time — 2.5× iperf3's system time at the
 * receiver, a third of the throughput on two busy cores. So in both
 * directions the measurement costs about what iperf3's does.
 *
 * Every mode is bounded in time; rtt, reach, send and receive print one JSON
 * line. With `--exit-with-stdin` (the agent's runs) any mode exits as soon as
 * stdin closes: an agent that dies takes its tests with it.
 */
import dgram from 'node:dgram';
import net from 'node:net';

const CALLBACK_PORT = 5201;
const ECHO_PORT = 5202;
const SOURCE_PORT = 5203;
const MAX_STREAM_MS = 60_000;
/** What one probe waits for its echo before it counts as lost. */
const PROBE_TIMEOUT_MS = 500;
const CHUNK = Buffer.alloc(256 * 1024, 0x5a);

function arg(args: string[], name: string, fallback?: number): number {
  const i = args.indexOf(name);
  const v = i < 0 ? fallback : Number(args[i + 1]);
  if (v === undefined || !Number.isFinite(v) || v < 0) throw new Error(`${name} needs a number`);
  return v;
}

function targets(args: string[]): string[] {
  const i = args.indexOf('--to');
  const list = i < 0 ? [] : (args[i + 1] ?? '').split(',');
  if (list.length === 0 || !list.every((a) => net.isIP(a))) throw new Error('--to needs IP addresses');
  return list;
}

function target(args: string[]): string {
  const [one, ...more] = targets(args);
  if (more.length > 0) throw new Error('--to takes one address in this mode');
  return one;
}

/** A UDP socket of the address's family bound to any address, or to `port` (the echo). */
function udpSocket(v6: boolean, port = 0): Promise<dgram.Socket> {
  const s = dgram.createSocket(v6 ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, v6 ? '::' : '0.0.0.0', () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

/** Listens on `port` of '::' (IPv4 too, dual stack), or of 0.0.0.0 in a namespace without IPv6. */
function listen(server: net.Server, port: number): Promise<void> {
  return new Promise((resolve) => {
    server.once('error', () => server.listen(port, '0.0.0.0', resolve));
    server.listen(port, '::', resolve);
  });
}

/** Writes CHUNK after CHUNK into `c` until `until`, then ends it. */
function pump(c: net.Socket, until: number): void {
  while (Date.now() < until) if (!c.write(CHUNK)) return void c.once('drain', () => pump(c, until));
  c.end();
}

async function serve(args: string[]): Promise<void> {
  const maxMs = arg(args, '--max-seconds', 120) * 1000;
  // Asked for a stream back: connects to the asker's port and answers what it read.
  const callback = net.createServer({ allowHalfOpen: true }, (c) => {
    c.once('data', (d: Buffer) => {
      if (d.length < 2) return void c.destroy();
      readStream(c.remoteAddress!.replace(/^::ffff:(?=\d+\.)/, ''), d.readUInt16BE(0)).then((bytes) => c.end(count(bytes)), () => c.destroy());
    });
    c.on('error', () => c.destroy());
  });
  const source = net.createServer((c) => {
    c.once('data', (d: Buffer) => d.length >= 4 && pump(c, Date.now() + Math.min(d.readUInt32BE(0), MAX_STREAM_MS)));
    c.on('error', () => c.destroy());
  });
  await listen(callback, CALLBACK_PORT);
  await listen(source, SOURCE_PORT);
  const echo = await udpSocket(true, ECHO_PORT).catch(() => udpSocket(false, ECHO_PORT));
  echo.on('message', (msg, from) => echo.send(msg, from.port, from.address));
  setTimeout(() => process.exit(0), maxMs).unref();
  process.stdout.write('ready\n');
  await new Promise(() => undefined); // until stdin closes or the time is up
}

/** Sends probe `seq` and resolves with its round trip in ms, or undefined when no echo came in time. */
function probe(s: dgram.Socket, to: string, seq: number): Promise<number | undefined> {
  const msg = Buffer.alloc(16);
  msg.write('OVPF', 0, 'latin1');
  msg.writeUInt32BE(seq, 4);
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    const done = (rtt?: number): void => {
      clearTimeout(timer);
      s.off('message', onMessage);
      resolve(rtt);
    };
    const onMessage = (m: Buffer): void => {
      if (m.length === 16 && m.readUInt32BE(4) === seq) done(Number(process.hrtime.bigint() - t0) / 1e6);
    };
    const timer = setTimeout(done, PROBE_TIMEOUT_MS);
    s.on('message', onMessage);
    s.send(msg, ECHO_PORT, to);
  });
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
const round = (v: number): number => Math.round(v * 1000) / 1000;

/** Probes `to` until one echo comes back or `waitMs` passes: the round trip of that echo, or undefined. */
async function firstEcho(s: dgram.Socket, to: string, waitMs: number): Promise<number | undefined> {
  let seq = 0;
  for (const until = Date.now() + waitMs; Date.now() < until; ) {
    const r = await probe(s, to, ++seq);
    if (r !== undefined) return r;
  }
  return undefined;
}

async function reach(args: string[]): Promise<Record<string, unknown>> {
  const waitMs = arg(args, '--wait-ms', 2000);
  const results = await Promise.all(
    targets(args).map(async (to) => {
      const s = await udpSocket(net.isIPv6(to));
      const rtt = await firstEcho(s, to, waitMs);
      s.close();
      return { to, reachable: rtt !== undefined, rttMs: round(rtt ?? 0) };
    }),
  );
  return { results };
}

async function rtt(args: string[]): Promise<Record<string, unknown>> {
  const to = target(args);
  const count = Math.min(arg(args, '--count', 200), 10_000);
  const waitMs = arg(args, '--wait-ms', 5000);
  const deadline = Date.now() + arg(args, '--max-seconds', 10) * 1000;
  const s = await udpSocket(net.isIPv6(to));
  // Until the first echo: tables and keys may still be on their way to the other host.
  const reachable = (await firstEcho(s, to, waitMs)) !== undefined;
  let seq = 1 << 20; // apart from the first echo's probes
  const rtts: number[] = [];
  let sent = 0;
  while (reachable && sent < count && Date.now() < deadline) {
    sent++;
    const r = await probe(s, to, ++seq);
    if (r !== undefined) rtts.push(r);
  }
  s.close();
  const sorted = rtts.sort((a, b) => a - b);
  return {
    reachable,
    sent,
    received: rtts.length,
    lossPct: sent ? round(((sent - rtts.length) / sent) * 100) : 100,
    rttP50Ms: round(percentile(sorted, 50)),
    rttP99Ms: round(percentile(sorted, 99)),
    rttMinMs: round(sorted[0] ?? 0),
    rttMaxMs: round(sorted[sorted.length - 1] ?? 0),
  };
}

const count = (bytes: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(bytes));
  return b;
};

/**
 * Reads one stream from host:port into one preallocated buffer (after
 * writing `ask`, if given) until the sender ends it; resolves with the bytes.
 */
function readStream(host: string, port: number, ask?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const onread = { buffer: Buffer.allocUnsafe(1 << 20), callback: (n: number) => ((bytes += n), true) };
    const c = net.connect({ host, port, onread });
    c.setTimeout(10_000, () => c.destroy(new Error(`stream from ${host} stalled for 10 s`)));
    c.on('error', reject);
    if (ask) c.on('connect', () => c.write(ask));
    c.on('end', () => (c.destroy(), resolve(bytes)));
  });
}

/** `n` streams from the source at `to` (it sends, this side reads) until `until`. */
function receiveStreams(to: string, n: number, until: number): Promise<number[]> {
  const ask = Buffer.alloc(4);
  ask.writeUInt32BE(Math.max(0, until - Date.now()));
  return Promise.all(Array.from({ length: n }, () => readStream(to, SOURCE_PORT, ask)));
}

/**
 * `n` streams from this side to `to`, read there the cheap way too: `to` is
 * asked (on its callback port) to connect back to a port here and read; this
 * side writes into each connection until `until`; `to` answers each count.
 */
async function sendStreams(to: string, n: number, until: number): Promise<number[]> {
  const server = net.createServer((c) => {
    c.on('error', () => c.destroy());
    pump(c, until);
  });
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const port = Buffer.alloc(2);
  port.writeUInt16BE((server.address() as net.AddressInfo).port);
  try {
    return await Promise.all(
      Array.from({ length: n }, () =>
        new Promise<number>((resolve, reject) => {
          const answer: Buffer[] = [];
          const c = net.connect({ host: to, port: CALLBACK_PORT, allowHalfOpen: true }, () => c.write(port));
          c.setTimeout(MAX_STREAM_MS + 10_000, () => c.destroy(new Error(`${to} did not answer its byte count`)));
          c.on('error', reject);
          c.on('data', (d: Buffer) => answer.push(d));
          c.on('end', () => {
            const a = Buffer.concat(answer);
            c.destroy();
            if (a.length !== 8) return reject(new Error(`${to} sent no byte count`));
            resolve(Number(a.readBigUInt64BE()));
          });
        }),
      ),
    );
  } finally {
    server.close();
  }
}

/** --streams streams for --seconds, together → {bytes, seconds, gbps}. */
async function streams(args: string[], run: (to: string, n: number, until: number) => Promise<number[]>): Promise<Record<string, unknown>> {
  const to = target(args);
  const seconds = Math.min(arg(args, '--seconds', 5), MAX_STREAM_MS / 1000);
  const n = Math.max(1, Math.min(arg(args, '--streams', 1), 16));
  const t0 = process.hrtime.bigint();
  const counts = await run(to, n, Date.now() + seconds * 1000);
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const bytes = counts.reduce((a, b) => a + b, 0);
  return { bytes, seconds: round(elapsed), gbps: round((bytes * 8) / elapsed / 1e9) };
}

const MODES: Record<string, (args: string[]) => Promise<Record<string, unknown>>> = {
  rtt,
  reach,
  send: (args) => streams(args, sendStreams),
  receive: (args) => streams(args, receiveStreams),
};

async function main(): Promise<void> {
  const [mode, ...args] = process.argv.slice(2);
  // Started by an agent: the end of stdin (a pipe from it) means the agent is gone, and so is the test.
  if (args.includes('--exit-with-stdin')) process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume();
  if (mode === 'serve') return serve(args);
  const run = MODES[mode ?? ''];
  if (!run) throw new Error('usage: worker serve|rtt|send|receive …');
  process.stdout.write(JSON.stringify(await run(args)) + '\n');
  process.exit(0);
}
main().catch((err: Error) => {
  process.stderr.write(`perf worker: ${err.message}\n`);
  process.exit(1);
});
