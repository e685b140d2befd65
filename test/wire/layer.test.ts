/** DESIGN.md §2: src/wire imports nothing from other layers (only node: built-ins and its own files). */
import { describe, expect, it } from 'vitest';
import { layerImports } from '../layer-imports.js';

describe('src/wire layer rule', () => {
  it('imports only ./ siblings and node: built-ins', () => {
    const { files, imports } = layerImports('wire');
    expect(files.length).toBeGreaterThan(10);
    for (const { file, spec } of imports) {
      expect(spec.startsWith('node:') || /^\.\/[\w-]+\.js$/.test(spec), `${file} imports ${spec}`).toBe(true);
    }
  });
});
