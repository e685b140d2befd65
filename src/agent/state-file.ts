/**
 * The agent's own state between runs: one JSON file in the state directory,
 * replaced atomically (write to a temporary file, fsync, rename), so a crash
 * leaves either the old or the new content, never half of one. The file holds
 * the keys of encrypted networks, so it is created mode 0600.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { StoreSnapshot } from '../cluster/store.js';

const FILE = 'state.json';
const VERSION = 2;

/** The store's snapshot, and the certificates and revocations of a cluster with a CA (identity.ts). */
export type SavedState = StoreSnapshot & { identity?: { c?: unknown; r?: unknown } };

export class StateFileError extends Error {
  readonly code = 'BAD_STATE_FILE';
}

export function loadState(dir: string): SavedState | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let doc: { version?: number; state?: SavedState };
  try {
    doc = JSON.parse(text);
  } catch {
    throw new StateFileError(`state file ${join(dir, FILE)} is not valid JSON; move it away to start empty`);
  }
  if (doc.version !== VERSION || !doc.state || !Array.isArray(doc.state.entries)) {
    throw new StateFileError(`state file ${join(dir, FILE)} has an unknown format (version ${doc.version})`);
  }
  return doc.state;
}

export function saveState(dir: string, state: SavedState): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `${FILE}.tmp`);
  // Encrypted networks' keys are in here: readable by root only.
  writeFileSync(tmp, JSON.stringify({ version: VERSION, state }, null, 2), { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, join(dir, FILE));
}
