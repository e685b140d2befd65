/**
 * vitest's default sequencer does not order files by name: it runs files
 * without cached results first, then failed ones, then the slowest, then
 * the largest. This one keeps that order but moves files named `zz-*` (the
 * leak check) to the end, so they run after every other file.
 * vitest.config.ts: `sequence: { sequencer: LeakCheckLastSequencer }`.
 */
import { basename } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** True for files that must run after all others. */
export function runsLast(moduleId: string): boolean {
  return basename(moduleId).startsWith('zz-');
}

/** The default order, with `zz-*` files last. */
export class LeakCheckLastSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    return [...sorted.filter((f) => !runsLast(f.moduleId)), ...sorted.filter((f) => runsLast(f.moduleId))];
  }
}
