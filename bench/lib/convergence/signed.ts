/**
 * `--signed` for the convergence benchmark: a throw-away cluster CA and a
 * certificate per agent, so the same attaches run with signed entries
 * (docs/identity.md). The folder is removed by the caller.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCa, signNode, sodiumReady, writeDocument, writeKey } from '../../../src/identity/index.js';

export interface SignedCluster {
  /** overlayd flags for the agent of host `index` with underlay address `addr`. */
  hostArgs(index: number, addr: string): string[];
  remove(): void;
}

export async function signedCluster(): Promise<SignedCluster> {
  await sodiumReady();
  const dir = mkdtempSync(join(tmpdir(), 'ovt-bench-ca-'));
  initCa(join(dir, 'ca'), 'bench-ca', 1);
  return {
    hostArgs(index, addr) {
      const cert = join(dir, `node${index}.crt`);
      const key = join(dir, `node${index}.key`);
      const made = signNode(join(dir, 'ca'), { name: `node${index}`, vteps: [addr], days: 1 });
      writeDocument(cert, made.cert);
      writeKey(key, made.key);
      return ['--ca', join(dir, 'ca', 'ca.crt'), '--cert', cert, '--key', key, '--require-signed'];
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
