/** DESIGN.md §2: src/crypto imports only src/wire, its own files and node: built-ins. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cryptoDir = join(dirname(fileURLToPath(import.meta.url)), '../../src/crypto');

describe('src/crypto layer rule', () => {
  it('imports only ./ siblings, ../wire/index.js and node: built-ins', () => {
    const files = readdirSync(cryptoDir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(8);
    for (const file of files) {
      const text = readFileSync(join(cryptoDir, file), 'utf8');
      const specifiers = [...text.matchAll(/(?:import|export)\s[^'";]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]);
      for (const spec of specifiers) {
        const ok = spec.startsWith('node:') || spec === '../wire/index.js' || /^\.\/[\w-]+\.js$/.test(spec);
        expect(ok, `${file} imports ${spec}`).toBe(true);
      }
    }
  });
});
