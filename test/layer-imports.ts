/**
 * What the layer-rule tests (DESIGN.md §2) read: every import and export
 * specifier in the .ts files of one folder of src/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '../src');

/** One `from '…'` of a source file. */
export interface LayerImport {
  file: string;
  spec: string;
}

/** The .ts files of src/`layer` and every module specifier they import or re-export from. */
export function layerImports(layer: string): { files: string[]; imports: LayerImport[] } {
  const dir = join(SRC, layer);
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  const imports = files.flatMap((file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    return [...text.matchAll(/(?:import|export)\s[^'";]*?from\s+['"]([^'"]+)['"]/g)].map((m) => ({ file, spec: m[1] }));
  });
  return { files, imports };
}
