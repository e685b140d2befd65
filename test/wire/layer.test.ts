/** DESIGN.md §2: src/wire imports nothing from other layers (only node: built-ins and its own files). */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const wireDir = join(dirname(fileURLToPath(import.meta.url)), '../../src/wire');

describe('src/wire layer rule', () => {
  it('imports only ./ siblings and node: built-ins', () => {
    const files = readdirSync(wireDir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const text = readFileSync(join(wireDir, file), 'utf8');
      const specifiers = [...text.matchAll(/(?:import|export)\s[^'";]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]);
      for (const spec of specifiers) {
        expect(spec.startsWith('node:') || /^\.\/[\w-]+\.js$/.test(spec), `${file} imports ${spec}`).toBe(true);
      }
    }
  });
});
