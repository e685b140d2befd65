/**
 * vitest global setup (vitest.config.ts: `globalSetup: ['test/helpers/global-setup.ts']`).
 * Runs once in the main vitest process, before any worker starts:
 * - removes what dead runs left behind (namespaces, links, UAPI sockets of
 *   runs whose owner process is gone; never names without a run record);
 * - fixes this run's id in `OVT_RUN_ID`, which the workers inherit, so all
 *   test files of the run share one name prefix and the leak check
 *   (test/zz-leaks.test.ts) can find anything any of them left;
 * - on teardown (and if the main process is killed) removes whatever still
 *   carries the run prefix, after the leak check has reported it.
 */
import { onProcessExit } from '../../src/testkit/exit-hooks.js';
import { isEmpty, removeByPrefixSync } from '../../src/testkit/resources.js';
import { claimRun, cleanStaleRuns, releaseRun, runId, runPrefix, RUN_ID_ENV } from '../../src/testkit/run.js';

/** Sets up the run; returns the teardown. */
export default function setup(): () => void {
  for (const [id, removed] of cleanStaleRuns()) {
    if (!isEmpty(removed)) console.warn(`removed leftovers of dead run ${id}: ${JSON.stringify(removed)}`);
  }
  process.env[RUN_ID_ENV] = runId();
  claimRun();
  const prefix = runPrefix();
  const unregister = onProcessExit(() => {
    removeByPrefixSync(prefix);
    releaseRun();
  });
  return () => {
    const left = removeByPrefixSync(prefix);
    if (!isEmpty(left)) console.warn(`removed leftovers of this run (${prefix}): ${JSON.stringify(left)}`);
    releaseRun();
    unregister();
  };
}
