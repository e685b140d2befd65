import { defineConfig } from 'vitest/config';
import { LeakCheckLastSequencer } from './test/helpers/sequencer.js';
import { LEAK_CHECK, systemTestFiles } from './test/helpers/projects.js';

const system = systemTestFiles(import.meta.dirname);

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    // The leak check (test/zz-leaks.test.ts) must run after every other file.
    sequence: { sequencer: LeakCheckLastSequencer },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    // Groups run one after the other (sequence.groupOrder): the unit files two at a time, then the system files one at
    // a time (namespace end-to-end tests share the machine's kernel), then the leak check (test/helpers/projects.ts).
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...system, LEAK_CHECK], maxWorkers: 2, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'system', include: system, maxWorkers: 1, sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: 'leaks', include: [LEAK_CHECK], maxWorkers: 1, sequence: { groupOrder: 2 } } },
    ],
  },
});
