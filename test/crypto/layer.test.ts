/** DESIGN.md §2: src/crypto imports only src/wire, its own files and node: built-ins. */
import { describe, expect, it } from 'vitest';
import { layerImports } from '../layer-imports.js';

describe('src/crypto layer rule', () => {
  it('imports only ./ siblings, ../wire/index.js and node: built-ins', () => {
    const { files, imports } = layerImports('crypto');
    expect(files.length).toBeGreaterThan(5);
    for (const { file, spec } of imports) {
      const ok = spec.startsWith('node:') || spec === '../wire/index.js' || /^\.\/[\w-]+\.js$/.test(spec);
      expect(ok, `${file} imports ${spec}`).toBe(true);
    }
  });
});
