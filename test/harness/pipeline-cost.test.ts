/**
 * bench/pipeline-cost.ts builds its driver with the addon's flags and feeds
 * the pipeline the frames it claims to: each case ends as the case says
 * (the fitting frame, the fragments, the ARP request, the datagram and the
 * broadcasts pass; the DF frame that does not fit is dropped). Nothing here is timed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDriver, CASES, instructionsPerFrame, runCase } from '../../bench/pipeline-cost.js';
import { haveTool, requirement } from '../../src/testkit/ci.js';

const dir = mkdtempSync(join(tmpdir(), 'overlayd-pipeline-cost-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench/pipeline-cost', () => {
  const exe = buildDriver(dir);

  it('runs every case through the pipeline with the verdict the case names', () => {
    const passed = Object.fromEntries(CASES.map((c) => [c, runCase(exe, c, 100)]));
    expect(passed).toEqual({ egress: 100, fragments: 100, 'too-big': 0, arp: 100, ingress: 100, broadcast3: 100, 'broadcast3-storm': 100 });
  });

  it.skipIf(!requirement(haveTool('valgrind'), 'needs valgrind (callgrind counts the instructions)'))('counts instructions per frame, and fragmenting costs more than sending whole', () => {
    const whole = instructionsPerFrame(exe, dir, 'egress', 200);
    const cut = instructionsPerFrame(exe, dir, 'fragments', 200);
    expect(whole).toBeGreaterThan(50);
    expect(cut).toBeGreaterThan(2 * whole);
  });
});
