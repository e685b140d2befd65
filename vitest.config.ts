import { defineConfig } from 'vitest/config';
import { LeakCheckLastSequencer } from './test/helpers/sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // The leak check (test/zz-leaks.test.ts) must run after every other file.
    sequence: { sequencer: LeakCheckLastSequencer },
    // Namespace end-to-end tests share the machine's kernel: run files one at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
