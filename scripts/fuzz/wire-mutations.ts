/**
 * The wire fuzzer's targets and mutations (scripts/fuzz-wire.ts): what a target is,
 * and how an input is made from its seeds (bit flips, truncations, field edits, splices).
 * scripts/fuzz-datapath.ts makes its inputs the same way.
 */
import { below, deleteRun, extend, flipBits, randomBytes, setByte, splice, truncate, type Rng } from './driver.js';

/** A place in a seed packet worth editing: a length, version or type field. */
export interface Field {
  at: number;
  size: 1 | 2 | 4;
}

/** One thing under test. `run` gets the (exact-size) input and an offset into it. */
export interface FuzzTarget {
  name: string;
  seeds: Buffer[];
  fields: Field[];
  /** Fields per seed (parallel to `seeds`), when they differ between seeds. */
  seedFields?: Field[][];
  /** When true, even a WireError is a failure (predicates and describeFrame). */
  neverThrows?: boolean;
  /** Decoders: every Buffer in the result must be a view of the input (zero copy). */
  zeroCopy?: boolean;
  /** Whether `run` honours an offset (inputs are then sometimes prefixed). */
  takesOffset: boolean;
  run(input: Buffer, offset: number, rng: Rng): unknown;
  /** Structural invariants of a successful result (field sizes, lengths inside the input). */
  check?(result: never, input: Buffer, offset: number): string | undefined;
}


// ---- mutations -------------------------------------------------------------------------------

const INTERESTING_16 = [0, 1, 7, 8, 20, 40, 0x0800, 0x0806, 0x86dd, 0x8100, 0x88a8, 0x7fff, 0x8000, 0xfffe, 0xffff];

function interesting(rng: Rng, size: 1 | 2 | 4, length: number): number {
  const max = size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
  switch (rng() % 6) {
    case 0:
      return rng() & max;
    case 1:
      return Math.min(max, Math.max(0, length + (rng() % 5) - 2)); // near the real length
    case 2:
      return below(rng, Math.min(max + 1, 64));
    case 3:
      return size === 1 ? [0, 0x45, 0x46, 0x4f, 0x60, 0x08, 0xff][rng() % 7] : INTERESTING_16[rng() % INTERESTING_16.length];
    case 4:
      return max;
    default:
      return size === 4 ? [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1][rng() % 4] : max >>> 1;
  }
}

function readField(b: Buffer, f: Field): number {
  if (f.size === 1) return b[f.at];
  return f.size === 2 ? b.readUInt16BE(f.at) : b.readUInt32BE(f.at);
}

function writeField(b: Buffer, f: Field, value: number): void {
  if (f.size === 1) b[f.at] = value & 0xff;
  else if (f.size === 2) b.writeUInt16BE(value & 0xffff, f.at);
  else if ((value & 1) === 0) b.writeUInt32LE(value >>> 0, f.at);
  else b.writeUInt32BE(value >>> 0, f.at);
}

/** What inputs are made from: seeds and the fields worth editing in them. */
export type MutationSeeds = Pick<FuzzTarget, 'seeds' | 'fields' | 'seedFields'>;

/** Applies one mutation to `b` (a private copy of a seed with `fields`) and returns the result. */
function mutateOnce(rng: Rng, b: Buffer, t: MutationSeeds, fields: Field[]): Buffer {
  switch (rng() % 7) {
    case 0:
      return flipBits(rng, b, 8);
    case 1:
      return truncate(rng, b);
    case 2: {
      const anywhere: Field = { at: below(rng, b.length), size: (1 << (rng() % 3)) as 1 | 2 | 4 };
      const f = fields.length > 0 && rng() % 4 !== 0 ? fields[below(rng, fields.length)] : anywhere;
      if (f.at + f.size > b.length) return b;
      const current = readField(b, f);
      // Half the time a small step from the current value: lengths just too short or too long.
      const step = rng() & 1 ? -1 - (rng() % 16) : 1 + (rng() % 8);
      writeField(b, f, rng() & 1 ? Math.max(0, current + step) : interesting(rng, f.size, b.length));
      return b;
    }
    case 3:
      return setByte(rng, b, [0, 0xff, 0x80, 0x7f, 0x01]);
    case 4:
      return extend(rng, b, 16);
    case 5:
      return splice(rng, b, t.seeds[below(rng, t.seeds.length)]);
    default:
      return deleteRun(rng, b, 8);
  }
}

/** A fresh input for `t`: random bytes (1 in 8) or a seed mutated 1–4 times. */
export function makeInput(rng: Rng, t: MutationSeeds): Buffer {
  if (rng() % 8 === 0) return randomBytes(rng, below(rng, 160));
  const pick = below(rng, t.seeds.length);
  const fields = t.seedFields?.[pick] ?? t.fields;
  let b: Buffer = Buffer.from(t.seeds[pick]);
  const rounds = 1 + (rng() % 4);
  for (let i = 0; i < rounds; i++) b = mutateOnce(rng, b, t, fields);
  return b;
}
