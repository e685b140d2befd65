/**
 * Shared helpers for the wire tests: the bridge to python3-scapy, the
 * independent implementation our known-good vectors come from.
 */
import { execFileSync, spawnSync } from 'node:child_process';

/**
 * The first python3 that can import `modules` (scapy by default; Debian's
 * python3-scapy lives in /usr/bin/python3), or null.
 */
export function findScapyPython(modules = 'scapy.all'): string | null {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(candidate, ['-c', `import ${modules}`], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return candidate;
  }
  return null;
}

/**
 * Runs a Python script with scapy imported (`from scapy.all import *`) and
 * parses the JSON it prints on its last line.
 */
export function runScapy<T>(python: string, script: string): T {
  const prelude = [
    'import json, logging, sys',
    'logging.getLogger("scapy.runtime").setLevel(logging.ERROR)',
    'from scapy.all import *',
    'from scapy.layers.vxlan import VXLAN',
  ].join('\n');
  const out = execFileSync(python, ['-c', `${prelude}\n${script}`], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  const lines = out.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}

/** Buffer from a hex string. */
export const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** Runs `fn` and returns the WireError code it threw; fails if it threw anything else or nothing. */
export function wireErrorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof Error && e.name === 'WireError' && 'code' in e) return String(e.code);
    throw new Error(`expected a WireError, got ${String(e)}`);
  }
  throw new Error('expected a WireError, nothing was thrown');
}
