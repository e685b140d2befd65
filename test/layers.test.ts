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
  // Certificates, signatures and the trust store (docs/identity.md): pure, addresses from wire.
  identity: ['wire'],
  cluster: ['gossip', 'dataplane', 'identity', 'wire'],
  host: ['wire'],
  agent: ['cluster', 'gossip', 'dataplane', 'crypto', 'host', 'identity', 'wire', 'unix-http'],
  // An HTTP server on a unix socket (node built-ins only): the control API and Docker's plugin API both serve with it.
  'unix-http': [],
  // The control API's HTTP client: node built-ins only, so every front-end may use it.
  'api-client': [],
  // The CNI plugin: a client of the agent's control API, never inside the agent.
  cni: ['api-client', 'wire'],
  // Docker's plugin: a client of the agent's control API too, so it answers while the agent is down.
  'docker-plugin': ['api-client', 'unix-http', 'wire'],
  cli: ['agent', 'cluster', 'identity', 'wire', 'api-client', 'cni', 'docker-plugin'],
  // The kit tests, benchmarks and the demo share; no layer above imports it.
  testkit: ['agent', 'cluster', 'gossip', 'dataplane', 'crypto', 'host', 'identity', 'wire'],
};

/** The layer a resolved path belongs to (the longest matching folder). */
function layerOf(path: string): string | undefined {
  const rel = relative(SRC, path).replace(/\\\\/g, '/');
  return Object.keys(ALLOWED)
    .filter((l) => rel === l || rel.startsWith(`${l}/`))
    .sort((a, b) => b.length - a.length)[0];
}

describe('layer rules (DESIGN.md §2)', () => {
  for (const plugin of ['cni', 'docker-plugin']) {
    it(`nothing but cli imports ${plugin} (also below src/, in any folder)`, () => {
      const dir = join(SRC, plugin);
      const bad = tsFilesBelow(SRC)
        .filter((file) => !file.startsWith(`${dir}/`) && !file.startsWith(`${join(SRC, 'cli')}/`))
        .flatMap((file) => importsOf(file).filter((t) => t.startsWith(`${dir}/`)).map((t) => `${relative(SRC, file)} → ${relative(SRC, t)}`));
      expect(bad).toEqual([]);
    });
  }

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

/** The relative imports of one .ts file, resolved to .ts paths. */
function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/(?:import|export)\s[^'";]*?from\s+['"](\.[^'"]+)['"]/g)].map((m) =>
    resolve(dirname(file), m[1]).replace(/\.js$/, '.ts'),
  );
}

describe('no import circles in src/', () => {
  it('no module reaches itself through its imports', () => {
    const files = tsFilesBelow(SRC);
    const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => existsSync(t))]));
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        circles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(SRC, p)).join(' → '));
        return;
      }
      state.set(f, 'open');
      for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(circles).toEqual([]);
  });
});

describe('the reference data path (src/dataplane/pipeline/)', () => {
  const PIPELINE = join(SRC, 'dataplane/pipeline');
  const SHARED = join(PIPELINE, 'frame.ts');
  const PROCESS = join(SRC, 'dataplane/process.ts');

  it('a stage imports no other stage, only frame.ts of its folder', () => {
    const bad = tsFilesBelow(PIPELINE).flatMap((file) =>
      importsOf(file)
        .filter((t) => dirname(t) === PIPELINE && t !== SHARED)
        .map((t) => `${relative(SRC, file)} → ${relative(SRC, t)}`),
    );
    expect(bad).toEqual([]);
  });

  it('only process.ts calls the stages', () => {
    const bad = tsFilesBelow(SRC)
      .filter((file) => file !== PROCESS && dirname(file) !== PIPELINE)
      .flatMap((file) =>
        importsOf(file)
          .filter((t) => dirname(t) === PIPELINE && t !== SHARED)
          .map((t) => `${relative(SRC, file)} → ${relative(SRC, t)}`),
      );
    expect(bad).toEqual([]);
  });
});
