/**
 * DESIGN.md §2: who may import whom. Every relative import of every layer
 * (and of its sub-folders) must land in the layer itself or in one it may use.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { layerImports } from './layer-imports.js';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '../src');

/** The layers each layer may import, besides itself. */
const ALLOWED: Record<string, string[]> = {
  wire: [],
  crypto: ['wire'],
  dataplane: ['crypto', 'wire'],
  gossip: ['gossip/wire', 'wire'],
  'gossip/wire': [],
  cluster: ['gossip', 'dataplane', 'wire'],
  host: ['wire'],
  agent: ['cluster', 'gossip', 'dataplane', 'crypto', 'host', 'wire'],
  cli: ['agent', 'cluster', 'wire'],
  // The kit tests, benchmarks and the demo share; no layer above imports it.
  testkit: ['agent', 'cluster', 'gossip', 'dataplane', 'crypto', 'host', 'wire'],
};

/** The layer a resolved path belongs to (the longest matching folder). */
function layerOf(path: string): string | undefined {
  const rel = relative(SRC, path).replace(/\\\\/g, '/');
  return Object.keys(ALLOWED)
    .filter((l) => rel === l || rel.startsWith(`${l}/`))
    .sort((a, b) => b.length - a.length)[0];
}

describe('layer rules (DESIGN.md §2)', () => {
  for (const layer of Object.keys(ALLOWED)) {
    it(`${layer} imports only ${ALLOWED[layer].join(', ') || 'node built-ins and packages'}`, () => {
      expect(existsSync(join(SRC, layer)) && statSync(join(SRC, layer)).isDirectory()).toBe(true);
      const { files, imports } = layerImports(layer);
      expect(files.length).toBeGreaterThan(0);
      const bad = imports
        .filter((i) => i.spec.startsWith('.'))
        .map((i) => ({ ...i, target: layerOf(resolve(SRC, layer, i.spec)) }))
        .filter((i) => i.target !== layer && !ALLOWED[layer].includes(i.target ?? '?'))
        .map((i) => `${layer}/${i.file} → ${i.spec}`);
      expect(bad).toEqual([]);
    });
  }
});

/** Every .ts file below `dir`, recursively. */
function tsFilesBelow(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFilesBelow(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('bench/ and scripts/ use the library, never test code', () => {
  const ROOT = join(SRC, '..');
  for (const folder of ['bench', 'scripts']) {
    it(`${folder}/ imports nothing from test/`, () => {
      const files = tsFilesBelow(join(ROOT, folder));
      expect(files.length).toBeGreaterThan(0);
      const bad = files.flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/(?:import|export)\s[^'";]*?from\s+['"](\.[^'"]+)['"]/g)]
          .map((m) => resolve(dirname(file), m[1]))
          .filter((target) => relative(ROOT, target).startsWith('test/'))
          .map((target) => `${relative(ROOT, file)} → ${relative(ROOT, target)}`),
      );
      expect(bad).toEqual([]);
    });
  }
});
