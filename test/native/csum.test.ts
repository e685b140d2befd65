/**
 * The Internet checksum of the native path (native/base/csum.c: an AVX2 loop
 * where the CPU has it, the scalar loop for the rest) against the RFC 1071
 * definition: test/native/csum-check.c, built with the addon's compiler.
 */
import { describe, expect, it } from 'vitest';
import { haveCc, runCCheck } from './c-check.js';

describe.skipIf(!haveCc())('csum_add', () => {
  it('equals the RFC 1071 sum at every length, alignment and carry', () => {
    expect(runCCheck('csum-check', ['base/csum.c'], ['-O2', '-flto=auto'])).toBe('ok');
  });
});
