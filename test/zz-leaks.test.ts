/**
 * The leak check: runs after every other test file (see
 * test/helpers/sequencer.ts) and fails if anything named with this run's
 * prefix survived — a namespace, a root-namespace link, a wireguard-go
 * UAPI socket, or a temporary folder (agent state, sockets, containerd's). The run prefix is shared by all workers through OVT_RUN_ID,
 * set by test/helpers/global-setup.ts.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { haveRoot, requirement } from '../src/testkit/ci.js';
import { listByPrefix } from '../src/testkit/resources.js';
import { RUN_ID_ENV, runPrefix } from '../src/testkit/run.js';

const runShared = requirement(
  process.env[RUN_ID_ENV] !== undefined,
  `${RUN_ID_ENV} is not set: vitest.config.ts lacks globalSetup test/helpers/global-setup.ts, so the leak check cannot see other files' names`,
);

describe.skipIf(!runShared || !requirement(haveRoot(), 'the leak check needs root to list namespaces'))('leak check', () => {
  it(`left no namespace, link or UAPI socket starting with the run prefix`, () => {
    expect(listByPrefix(runPrefix())).toEqual({ namespaces: [], links: [], sockets: [] });
  });

  it('left no temporary folder starting with the run prefix', () => {
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith(runPrefix()))).toEqual([]);
  });
});
