/**
 * Runs test/gossip/go-vectors (memberlist's own encoders and framers, see
 * src/testkit/go.ts) with one JSON request and returns its JSON answer.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildGo, needGo } from '../../../src/testkit/go.js';

/** Folder of the Go vector program. */
export const VECTORS_DIR = fileURLToPath(new URL('../go-vectors', import.meta.url));

/** memberlist settings for the framing operations (Go `Config` fields). */
export interface GoConfig {
  Keys?: string[];
  Compress?: boolean;
  ProtocolVersion?: number;
  VerifyIncoming?: boolean;
  VerifyOutgoing?: boolean;
}

/** One request to the vector program. */
export interface GoRequest {
  Op: string;
  Items?: Array<{ Type: number; Body?: unknown; Hex?: string }>;
  Inputs?: string[];
  Keys?: string[];
  Key?: string;
  Aad?: string;
  Vsn?: number;
  PMax?: number;
  Config?: GoConfig;
}

/** The program's answer; `Errors[i]` is '' when `Outputs[i]` is valid. */
export interface GoAnswer {
  Outputs?: string[];
  Decoded?: unknown[];
  Types?: number[];
  Errors?: string[];
  Trunc?: number[];
  Queued?: Array<Array<{ Type: number; Body: string | null }> | null>;
}

/** True when Go and memberlist are present (throws under CI=true when not). */
export const haveGo = needGo();

/** Sends one request to the (built once) vector program. */
export async function goVectors(request: GoRequest): Promise<GoAnswer> {
  const binary = await buildGo(VECTORS_DIR);
  if (!binary) throw new Error('go vector program unavailable');
  return new Promise<GoAnswer>((resolve, reject) => {
    const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`go-vectors ${request.Op} failed: ${Buffer.concat(err).toString()}`));
      resolve(JSON.parse(Buffer.concat(out).toString()) as GoAnswer);
    });
    child.stdin.end(JSON.stringify(request));
  });
}

/** Hex of a buffer (the program's byte format). */
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** Buffer of a hex string. */
export const unhex = (s: string): Buffer => Buffer.from(s, 'hex');

/** Deterministic pseudo-random bytes (xorshift32) for reproducible tests. */
export function seededBytes(seed: number, n: number, alphabet = 256): Buffer {
  let x = seed >>> 0 || 1;
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x % alphabet;
  }
  return out;
}
