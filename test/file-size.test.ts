/**
 * STYLE.md: a file that grows past ~500 lines is asking to be split. Every
 * source file of the project (TypeScript, C, C++, Go) stays at 500 lines or
 * fewer, so the split happens when the file grows, not later.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIRS = ['src', 'native', 'test', 'bench', 'scripts'];
const SOURCE = /\.(ts|c|cc|h|go)$/;
const LIMIT = 500;

function sourcesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'node_modules' ? [] : sourcesBelow(p);
    return SOURCE.test(name) ? [p] : [];
  });
}

describe('file sizes', () => {
  it(`no source file is longer than ${LIMIT} lines`, () => {
    const files = DIRS.flatMap((d) => sourcesBelow(join(ROOT, d)));
    expect(files.length).toBeGreaterThan(100);
    const long = files
      .map((f) => ({ file: relative(ROOT, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > LIMIT);
    expect(long).toEqual([]);
  });
});
