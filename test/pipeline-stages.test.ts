/**
 * The stage lists are written once each — at the top of native/pipeline/egress.c
 * and ingress.c, of src/dataplane/process.ts, and as the table of
 * docs/datapath.md — and must name the same stages in the same order, each in
 * a file that exists; every stage file of either path is on its list.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TRACE_STAGES } from '../src/dataplane/datapath.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const C_DIR = join(ROOT, 'native/pipeline');
const TS_DIR = join(ROOT, 'src/dataplane');

interface Stage {
  name: string;
  /** The file named at the end of the stage's lines, if any. */
  file?: string;
}

/** The stages listed in the first comment of `path`: lines ` *   name  description … [file]`. */
function stageList(path: string): Stage[] {
  const text = readFileSync(path, 'utf8');
  const comment = text.slice(text.indexOf('/*'), text.indexOf('*/'));
  const stages: Stage[] = [];
  for (const line of comment.split('\n')) {
    const named = /^ \*\s{3,}([a-z]+) {2,}\S/.exec(line);
    if (named) stages.push({ name: named[1] });
    const file = /\s(\S+\.(?:c|ts))$/.exec(line.trimEnd());
    if (file && stages.length > 0 && !/\s(?:the I\/O|io\/|the sink|the caller)/.test(line)) stages[stages.length - 1].file = file[1];
  }
  return stages;
}

const names = (stages: Stage[]): string[] => stages.map((s) => s.name);

const C_EGRESS = stageList(join(C_DIR, 'egress.c'));
const C_INGRESS = stageList(join(C_DIR, 'ingress.c'));
const TS_ALL = stageList(join(TS_DIR, 'process.ts'));
const TS_EGRESS = TS_ALL.slice(0, C_EGRESS.length);
const TS_INGRESS = TS_ALL.slice(C_EGRESS.length);

describe('pipeline stage lists (docs/datapath.md)', () => {
  it('egress.c and ingress.c list the stages: parse … send, open … deliver', () => {
    expect(names(C_EGRESS)).toEqual(['parse', 'proxy', 'lookup', 'size', 'encapsulate', 'seal', 'send']);
    expect(names(C_INGRESS)).toEqual(['open', 'decapsulate', 'admit', 'deliver']);
  });

  it('process.ts lists the same stages, in the same order', () => {
    expect(names(TS_EGRESS)).toEqual(names(C_EGRESS));
    expect(names(TS_INGRESS)).toEqual(names(C_INGRESS));
  });

  it('each listed stage is a file of the same name on both paths (I/O stages excepted)', () => {
    const mismatched: string[] = [];
    for (const [c, ts] of [...C_EGRESS.map((s, i) => [s, TS_EGRESS[i]]), ...C_INGRESS.map((s, i) => [s, TS_INGRESS[i]])]) {
      if (c.file === undefined && ts.file === undefined && (c.name === 'send' || c.name === 'deliver')) continue;
      if (c.file !== `${c.name}.c` || !existsSync(join(C_DIR, c.file))) mismatched.push(`C ${c.name}: ${c.file}`);
      if (ts.file !== `pipeline/${c.name}.ts` || !existsSync(join(TS_DIR, ts.file))) mismatched.push(`TS ${c.name}: ${ts.file}`);
    }
    expect(mismatched).toEqual([]);
  });

  it('every stage file of either path is on a stage list', () => {
    const listed = new Set([...C_EGRESS, ...C_INGRESS].map((s) => s.name));
    const shared = new Set(['counters', 'frame', 'pipeline', 'egress', 'ingress']);
    const cStages = readdirSync(C_DIR).filter((f) => f.endsWith('.c')).map((f) => f.slice(0, -2)).filter((n) => !shared.has(n));
    const tsStages = readdirSync(join(TS_DIR, 'pipeline')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).filter((n) => !shared.has(n));
    expect(cStages.filter((n) => !listed.has(n))).toEqual([]);
    expect(tsStages.filter((n) => !listed.has(n))).toEqual([]);
    expect(cStages.sort()).toEqual(tsStages.sort());
  });

  it('a trace names the same stages: TRACE_STAGES and the C enum dp_stage are the lists without send and deliver', () => {
    const io = (s: Stage) => s.name !== 'send' && s.name !== 'deliver';
    const listed = [...C_EGRESS.filter(io), ...C_INGRESS.filter(io)].map((s) => s.name);
    expect([...TRACE_STAGES]).toEqual(listed);
    const header = readFileSync(join(C_DIR, 'pipeline.h'), 'utf8');
    const body = /enum dp_stage \{([^}]*)\}/.exec(header)?.[1] ?? '';
    const cEnum = [...body.matchAll(/DP_STAGE_([A-Z]+)/g)].map((m) => m[1].toLowerCase());
    expect(cEnum).toEqual(listed);
  });

  it('docs/datapath.md has one table row per stage, naming both files', () => {
    const docs = readFileSync(join(ROOT, 'docs/datapath.md'), 'utf8');
    const rows = [...docs.matchAll(/^\| (egress|ingress) \| ([a-z]+) \|.*\| `([^`]+)` \| `([^`]+)` \|$/gm)];
    const table = rows.map((r) => `${r[1]} ${r[2]}`);
    expect(table).toEqual([...C_EGRESS.map((s) => `egress ${s.name}`), ...C_INGRESS.map((s) => `ingress ${s.name}`)]);
    for (const r of rows.filter((r) => r[2] !== 'send' && r[2] !== 'deliver')) {
      expect([r[3], r[4]]).toEqual([`${r[2]}.c`, `${r[2]}.ts`]);
    }
  });
});
