/**
 * native/README.md "Rooms": who may include whom in the C addon. Every
 * `#include "room/file.h"` of every .c/.cc/.h under native/ must name an
 * existing file, land in the room itself or in one it may use, and the
 * header → header includes must not form a circle.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const NATIVE = join(dirname(fileURLToPath(import.meta.url)), '../native');

/** The rooms each room may include, besides itself. */
const ALLOWED: Record<string, string[]> = {
  base: [],
  tables: ['base'],
  esp: ['base', 'tables'],
  pipeline: ['base', 'tables', 'esp'],
  tap: ['base'],
  udp: ['base', 'tables', 'tap'],
  io: ['base', 'tables', 'esp', 'pipeline', 'tap', 'udp'],
  datapath: ['base', 'tables', 'esp', 'pipeline', 'tap', 'udp', 'io'],
  binding: ['base', 'tables', 'esp', 'pipeline', 'tap', 'udp', 'io', 'datapath'],
};

/**
 * The pipeline room: its shared headers, which every stage may include, and
 * the two stage lists, the only files that call stages.
 */
const PIPELINE_SHARED = new Set(['pipeline/counters.h', 'pipeline/frame.h', 'pipeline/pipeline.h']);
const STAGE_LISTS = new Set(['pipeline/egress.c', 'pipeline/ingress.c']);

interface Include {
  file: string; // relative to native/, e.g. 'io/io_linux.c'
  target: string; // as written, e.g. 'tables/tables.h'
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(c|cc|h)$/.test(name) ? [relative(NATIVE, p).replace(/\\/g, '/')] : [];
  });
}

const FILES = sources(NATIVE);
const INCLUDES: Include[] = FILES.flatMap((file) =>
  [...readFileSync(join(NATIVE, file), 'utf8').matchAll(/^\s*#\s*include\s+"([^"]+)"/gm)].map((m) => ({
    file,
    target: m[1],
  })),
);
const roomOf = (path: string): string => path.split('/')[0];

describe('native include rules (native/README.md)', () => {
  it('every source lives in a room', () => {
    expect(FILES.length).toBeGreaterThan(0);
    expect(FILES.filter((f) => !f.includes('/') || !(roomOf(f) in ALLOWED))).toEqual([]);
    expect(INCLUDES.length).toBeGreaterThan(0);
  });

  it('every #include "room/file.h" names an existing file', () => {
    const bad = INCLUDES.filter((i) => !/^[a-z]+\/[A-Za-z0-9_]+\.h$/.test(i.target) || !existsSync(join(NATIVE, i.target)));
    expect(bad.map((i) => `${i.file} → ${i.target}`)).toEqual([]);
  });

  for (const room of Object.keys(ALLOWED)) {
    it(`${room} includes only ${ALLOWED[room].join(', ') || 'itself and system headers'}`, () => {
      expect(existsSync(join(NATIVE, room)) && statSync(join(NATIVE, room)).isDirectory()).toBe(true);
      const bad = INCLUDES.filter((i) => roomOf(i.file) === room)
        .filter((i) => roomOf(i.target) !== room && !ALLOWED[room].includes(roomOf(i.target)))
        .map((i) => `${i.file} → ${i.target}`);
      expect(bad).toEqual([]);
    });
  }

  it('pipeline stages never include one another: only egress.c and ingress.c call stages', () => {
    const stem = (path: string): string => path.replace(/\.(c|h)$/, '');
    const stages = FILES.filter((f) => roomOf(f) === 'pipeline' && !PIPELINE_SHARED.has(f) && !STAGE_LISTS.has(f));
    expect(stages.length).toBeGreaterThan(8);
    const bad = INCLUDES.filter((i) => roomOf(i.file) === 'pipeline' && roomOf(i.target) === 'pipeline')
      .filter((i) => !PIPELINE_SHARED.has(i.target) && !STAGE_LISTS.has(i.file) && stem(i.target) !== stem(i.file))
      .map((i) => `${i.file} → ${i.target}`);
    expect(bad).toEqual([]);
    // Outside the pipeline, only its shared headers are seen: the stages are its own business.
    const outside = INCLUDES.filter((i) => roomOf(i.file) !== 'pipeline' && roomOf(i.target) === 'pipeline')
      .filter((i) => !PIPELINE_SHARED.has(i.target))
      .map((i) => `${i.file} → ${i.target}`);
    expect(outside).toEqual([]);
  });

  it('no include circle among headers', () => {
    const edges = new Map<string, string[]>();
    for (const i of INCLUDES) {
      if (!i.file.endsWith('.h')) continue;
      edges.set(i.file, [...(edges.get(i.file) ?? []), i.target]);
    }
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (h: string, path: string[]): void => {
      if (state.get(h) === 'done') return;
      if (state.get(h) === 'open') {
        circles.push([...path.slice(path.indexOf(h)), h].join(' → '));
        return;
      }
      state.set(h, 'open');
      for (const next of edges.get(h) ?? []) visit(next, [...path, h]);
      state.set(h, 'done');
    };
    for (const h of FILES.filter((f) => f.endsWith('.h'))) visit(h, []);
    expect(circles).toEqual([]);
  });
});
