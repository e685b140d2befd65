/** The sender's counter: monotonic, reserved ahead durably, rekey signal, hard stop at the limit. */
import { describe, expect, it } from 'vitest';
import { isCryptoError, OutboundSequence } from '../../src/crypto/index.js';
import { thrownBy } from './support.js';

describe('OutboundSequence', () => {
  it('counts from start + 1 and never repeats', () => {
    const s = new OutboundSequence();
    expect([s.next(), s.next(), s.next()]).toEqual([1, 2, 3]);
    expect(s.last).toBe(3);
    const resumed = new OutboundSequence({ start: 2 ** 32 + 5 });
    expect(resumed.next()).toBe(2 ** 32 + 6);
  });

  it('reserves blocks ahead before handing out numbers past the durable bound', () => {
    const durable: number[] = [];
    const s = new OutboundSequence({ reserveAhead: 100, reserve: (upTo) => durable.push(upTo) });
    expect(s.next()).toBe(1);
    expect(durable).toEqual([100]);
    for (let i = 2; i <= 100; i++) s.next();
    expect(durable).toEqual([100]);
    expect(s.next()).toBe(101);
    expect(durable).toEqual([100, 200]);
    // A restart resumes from the durable bound: no number handed out before is ever reused.
    const restarted = new OutboundSequence({ start: s.reserved, reserveAhead: 100, reserve: (upTo) => durable.push(upTo) });
    expect(restarted.next()).toBe(201);
  });

  it('stops (without handing the number out) when the reservation fails', () => {
    const s = new OutboundSequence({
      reserveAhead: 10,
      reserve: () => {
        throw new Error('disk full');
      },
    });
    expect(() => s.next()).toThrow('disk full');
    expect(s.last).toBe(0);
  });

  it('signals rekey past its threshold and refuses to pass the limit', () => {
    const s = new OutboundSequence({ start: 98, rekeyAfter: 99, max: 100 });
    expect(s.needsRekey).toBe(false);
    expect(s.next()).toBe(99);
    expect(s.needsRekey).toBe(true);
    expect(s.next()).toBe(100);
    expect(isCryptoError(thrownBy(() => s.next()), 'SEQUENCE_EXHAUSTED')).toBe(true);
    expect(s.last).toBe(100);
  });

  it('refuses impossible options', () => {
    for (const opts of [{ start: -1 }, { start: 1.5 }, { max: 0 }, { start: 10, max: 5 }, { reserveAhead: 0 }, { rekeyAfter: 2 ** 60 }]) {
      expect(() => new OutboundSequence(opts), JSON.stringify(opts)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    }
  });
});
