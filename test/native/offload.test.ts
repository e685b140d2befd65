/**
 * The TAP offloads of the native path (native/tap/offload.c): coalescing TCP
 * segments and UDP datagrams into one super-frame, and cutting super-frames
 * into segments, checked against each other as the kernel's contract has it
 * (what is coalesced and written must come back from the kernel's
 * segmentation byte for byte), plus 20 000 mutated frames under the address
 * and undefined-behaviour sanitizers: test/native/offload-check.c.
 */
import { describe, expect, it } from 'vitest';
import { haveCc, runCCheck } from './c-check.js';

describe.skipIf(!haveCc())('gro_* and gso_segment', () => {
  it('give back exactly the frames they coalesced, refuse what must not be joined, and survive mutated frames', () => {
    const sanitizers = ['-O1', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all'];
    expect(runCCheck('offload-check', ['tap/offload.c', 'base/csum.c'], sanitizers)).toBe('ok');
  });
});
