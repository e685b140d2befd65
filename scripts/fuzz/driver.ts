/**
 * What the fuzzers (scripts/fuzz-esp.ts, fuzz-wire.ts, fuzz-gossip.ts) share:
 * a seeded generator, the byte-level mutation operators, counting and
 * capped failure lists, and the command line (`[iterations] [--seed N]`,
 * timing, exit code 1 on any failure).
 *
 * The operators draw from the generator in a fixed order, so a run is
 * replayed exactly from its seed.
 */
import { pathToFileURL } from 'node:url';
import { seededRandom } from '../../src/gossip/clock.js';

/** A generator of unsigned 32-bit integers. */
export type Rng = () => number;

/**
 * Deterministic 32-bit generator, so a failing run can be replayed by seed:
 * the mulberry32 of src/gossip/clock.ts scaled back to whole numbers (exact:
 * it divides a 32-bit integer by 2^32).
 */
export function makeRng(seed: number): Rng {
  const next = seededRandom(seed);
  return () => next() * 2 ** 32;
}

/** A whole number in [0, n), or 0 when n <= 0. */
export function below(rng: Rng, n: number): number {
  return n <= 0 ? 0 : rng() % n;
}

/** One element of a non-empty list, at random. */
export function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[below(rng, list.length)];
}

/** `n` random bytes. */
export function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = rng() & 0xff;
  return b;
}

// ---- mutation operators: each edits `b` in place or returns a new Buffer ------------------------

/** Flips one bit at each of 1..`maxFlips` random places. */
export function flipBits(rng: Rng, b: Buffer, maxFlips: number): Buffer {
  const flips = 1 + below(rng, maxFlips);
  for (let i = 0; i < flips && b.length > 0; i++) b[below(rng, b.length)] ^= 1 << below(rng, 8);
  return b;
}

/** Sets one random byte to one of `values`, or to any value when `values` is not given. */
export function setByte(rng: Rng, b: Buffer, values?: readonly number[]): Buffer {
  if (b.length > 0) b[below(rng, b.length)] = values ? pick(rng, values) : below(rng, 256);
  return b;
}

/** A prefix of `b`, from empty to whole. */
export function truncate(rng: Rng, b: Buffer): Buffer {
  return b.subarray(0, below(rng, b.length + 1));
}

/** `b` followed by 1..`maxExtra` random bytes. */
export function extend(rng: Rng, b: Buffer, maxExtra: number): Buffer {
  return Buffer.concat([b, randomBytes(rng, 1 + below(rng, maxExtra))]);
}

/** A head of `head` followed by a tail of `tail` (each possibly empty). */
export function splice(rng: Rng, head: Buffer, tail: Buffer): Buffer {
  const cut = below(rng, head.length + 1);
  return Buffer.concat([head.subarray(0, cut), tail.subarray(below(rng, tail.length + 1))]);
}

/** `b` with 1..`maxInsert` random bytes inserted at a random place. */
export function insertBytes(rng: Rng, b: Buffer, maxInsert: number): Buffer {
  const at = below(rng, b.length + 1);
  return Buffer.concat([b.subarray(0, at), randomBytes(rng, 1 + below(rng, maxInsert)), b.subarray(at)]);
}

/** `b` without a run of 1..`maxRun` bytes at a random place. */
export function deleteRun(rng: Rng, b: Buffer, maxRun: number): Buffer {
  if (b.length === 0) return b;
  const at = below(rng, b.length);
  return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + below(rng, maxRun)))]);
}

// ---- counting and reporting -----------------------------------------------------------------------

/** Adds one to `counts[key]`. */
export function tally<K extends string>(counts: Partial<Record<K, number>>, key: K): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** Appends `item` unless `list` already holds `max` items (a report keeps the first few failures). */
export function keepFirst<T>(list: T[], item: T, max: number): void {
  if (list.length < max) list.push(item);
}

/** Options of a fuzz run from the command line. */
export interface FuzzArgs {
  iterations: number;
  /** Absent when not given: each fuzzer picks its own default. */
  seed?: number;
}

/**
 * Parses `[iterations] [--seed N]` (a second number alone is also taken as
 * the seed); null when a value is not a whole number or iterations <= 0.
 */
export function parseFuzzArgs(argv: readonly string[], defaultIterations = 1_000_000): FuzzArgs | null {
  const positional: number[] = [];
  let seed: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seed') seed = Number(argv[++i]);
    else positional.push(Number(argv[i]));
  }
  if (positional.length > 2) return null;
  const iterations = positional[0] ?? defaultIterations;
  seed ??= positional[1];
  if (!Number.isInteger(iterations) || iterations <= 0 || (seed !== undefined && !Number.isInteger(seed))) return null;
  return { iterations, seed };
}

/** How a fuzzer script is run from the command line. */
export interface FuzzCli<R> {
  /** Script name, for the usage line. */
  name: string;
  /** Runs the fuzzer. */
  run(args: FuzzArgs): R | Promise<R>;
  /** The report as text for stdout. */
  format(report: R): string;
  /** Whether the report holds any failure (the exit code is then 1). */
  failed(report: R): boolean;
}

/** True when `moduleUrl` (pass `import.meta.url`) is the script node was started with. */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href;
}

/** Parses the arguments, runs the fuzzer, prints the report and its duration, sets the exit code. */
export async function runFuzzCli<R>(cli: FuzzCli<R>, argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const args = parseFuzzArgs(argv);
  if (args === null) {
    process.stderr.write(`usage: ${cli.name} [iterations] [--seed N]\n`);
    process.exitCode = 2;
    return;
  }
  const started = process.hrtime.bigint();
  const report = await cli.run(args);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(`${cli.format(report)}\n${seconds.toFixed(1)} s\n`);
  process.exitCode = cli.failed(report) ? 1 : 0;
}
