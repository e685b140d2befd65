/**
 * The perf worker: the small program `overlayctl perf` runs inside a test
 * endpoint's network namespace, so the measured traffic takes the real path
 * (veth → bridge → TAP → encapsulation → underlay → … → the other side's TAP).
 * Node built-ins only: it is started by path (`unshare --net`, `nsenter`,
 * `ip netns exec`), never imported.
 *
 *   serve [--max-seconds N]   TCP sink on 5201 (answers the byte count when the
 *                             sender finishes), UDP echo on 5202; prints
 *                             "ready"; exits when stdin closes or after N s
 *   rtt --to IP [--count N] [--wait-ms N] [--max-seconds N]
 *                             waits for a first echo, then N probes one at a
 *                             time → {reachable, sent, received, lossPct, rttP50Ms, rttP99Ms, rttMinMs, rttMaxMs}
 *   stream --to IP --seconds S [--streams N]
 *                             N TCP streams into the sink for S s → {bytes, seconds, gbps}
 *
 * Every mode is bounded in time; rtt and stream print one JSON line.
 */
import dgram from 'node:dgram';
import net from 'node:net';

const SINK_PORT = 5201;
const ECHO_PORT = 5202;
/** What one probe waits for its echo before it counts as lost. */
const PROBE_TIMEOUT_MS = 500;
const CHUNK = Buffer.alloc(256 * 1024, 0x5a);

function arg(args: string[], name: string, fallback?: number): number {
  const i = args.indexOf(name);
  const v = i < 0 ? fallback : Number(args[i + 1]);
  if (v === undefined || !Number.isFinite(v) || v < 0) throw new Error(`${name} needs a number`);
  return v;
}

function target(args: string[]): string {
  const i = args.indexOf('--to');
  if (i < 0 || !net.isIP(args[i + 1] ?? '')) throw new Error('--to needs an IP address');
  return args[i + 1];
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

async function serve(args: string[]): Promise<void> {
  const maxMs = arg(args, '--max-seconds', 120) * 1000;
  const sink = net.createServer({ allowHalfOpen: true }, (c) => {
    let bytes = 0;
    c.on('data', (d: Buffer) => (bytes += d.length));
    c.on('end', () => {
      const count = Buffer.alloc(8);
      count.writeBigUInt64BE(BigInt(bytes));
      c.end(count);
    });
    c.on('error', () => c.destroy());
  });
  // '::' takes IPv4 too (dual stack); a namespace without IPv6 falls back to IPv4 alone.
  await new Promise<void>((resolve) => {
    sink.once('error', () => sink.listen(SINK_PORT, '0.0.0.0', resolve));
    sink.listen(SINK_PORT, '::', resolve);
  });
  const echo = await udpSocket(true, ECHO_PORT).catch(() => udpSocket(false, ECHO_PORT));
  echo.on('message', (msg, from) => echo.send(msg, from.port, from.address));
  setTimeout(() => process.exit(0), maxMs).unref();
  process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume();
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

async function rtt(args: string[]): Promise<Record<string, unknown>> {
  const to = target(args);
  const count = Math.min(arg(args, '--count', 200), 10_000);
  const waitMs = arg(args, '--wait-ms', 5000);
  const deadline = Date.now() + arg(args, '--max-seconds', 10) * 1000;
  const s = await udpSocket(net.isIPv6(to));
  let seq = 0;
  // Until the first echo: tables and keys may still be on their way to the other host.
  let reachable = false;
  for (const until = Date.now() + waitMs; !reachable && Date.now() < until; ) reachable = (await probe(s, to, ++seq)) !== undefined;
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

/** One TCP stream: writes until `until`, then resolves with the byte count the sink acknowledged. */
function oneStream(to: string, until: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: to, port: SINK_PORT, allowHalfOpen: true });
    const answer: Buffer[] = [];
    c.setTimeout(10_000, () => c.destroy(new Error(`stream to ${to} stalled for 10 s`)));
    c.on('error', reject);
    c.on('data', (d: Buffer) => answer.push(d));
    c.on('end', () => {
      const a = Buffer.concat(answer);
      if (a.length !== 8) return reject(new Error(`the sink at ${to} sent no byte count`));
      resolve(Number(a.readBigUInt64BE()));
      c.destroy();
    });
    const pump = (): void => {
      while (Date.now() < until) if (!c.write(CHUNK)) return void c.once('drain', pump);
      c.end();
    };
    c.on('connect', pump);
  });
}

async function stream(args: string[]): Promise<Record<string, unknown>> {
  const to = target(args);
  const seconds = Math.min(arg(args, '--seconds', 5), 60);
  const streams = Math.max(1, Math.min(arg(args, '--streams', 1), 16));
  const t0 = process.hrtime.bigint();
  const until = Date.now() + seconds * 1000;
  const counts = await Promise.all(Array.from({ length: streams }, () => oneStream(to, until)));
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const bytes = counts.reduce((a, b) => a + b, 0);
  return { bytes, seconds: round(elapsed), gbps: round((bytes * 8) / elapsed / 1e9) };
}

async function main(): Promise<void> {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'serve') return serve(args);
  if (mode !== 'rtt' && mode !== 'stream') throw new Error('usage: worker serve|rtt|stream …');
  process.stdout.write(JSON.stringify(await (mode === 'rtt' ? rtt(args) : stream(args))) + '\n');
  process.exit(0);
}

main().catch((err: Error) => {
  process.stderr.write(`perf worker: ${err.message}\n`);
  process.exit(1);
});
