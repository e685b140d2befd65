import { describe, expect, it } from 'vitest';
import { TransmitLimitedQueue, type Broadcast } from '../../src/gossip/broadcast-queue.js';

function named(name: string, text: string, done: string[] = []): Broadcast {
  const msg = Buffer.from(text);
  return { name, message: () => msg, invalidates: () => false, finished: () => done.push(text) };
}

function plain(text: string, invalidates: (o: Broadcast) => boolean = () => false): Broadcast {
  const msg = Buffer.from(text);
  return { message: () => msg, invalidates, finished: () => undefined };
}

describe('TransmitLimitedQueue', () => {
  it('sends each broadcast retransmit-limit times, then finishes it', () => {
    const done: string[] = [];
    const q = new TransmitLimitedQueue(() => 10, 2); // limit = 2 × ceil(log10(11)) = 4
    q.queueBroadcast(named('a', 'alive-a', done));
    for (let i = 0; i < 4; i++) expect(q.getBroadcasts(2, 1400).map(String)).toEqual(['alive-a']);
    expect(done).toEqual(['alive-a']);
    expect(q.getBroadcasts(2, 1400)).toEqual([]);
    expect(q.numQueued()).toBe(0);
  });

  it('replaces an older broadcast about the same node', () => {
    const done: string[] = [];
    const q = new TransmitLimitedQueue(() => 10, 4);
    q.queueBroadcast(named('n1', 'suspect-n1', done));
    q.queueBroadcast(named('n2', 'alive-n2', done));
    q.queueBroadcast(named('n1', 'alive-n1', done));
    expect(done).toEqual(['suspect-n1']);
    expect(q.getBroadcasts(2, 1400).map(String).sort()).toEqual(['alive-n1', 'alive-n2']);
  });

  it('invalidates unnamed broadcasts through invalidates()', () => {
    const q = new TransmitLimitedQueue(() => 10, 4);
    q.queueBroadcast(plain('old'));
    q.queueBroadcast(plain('new', (o) => o.message().toString() === 'old'));
    expect(q.getBroadcasts(2, 1400).map(String)).toEqual(['new']);
  });

  it('sends least-transmitted first and respects the byte limit', () => {
    const q = new TransmitLimitedQueue(() => 1000, 4);
    q.queueBroadcast(named('a', 'aaaaaaaaaa'));
    expect(q.getBroadcasts(2, 1400).map(String)).toEqual(['aaaaaaaaaa']);
    q.queueBroadcast(named('b', 'bbbbb'));
    q.queueBroadcast(named('c', 'cccccccccccc'));
    // Fresh ones first (larger first within a tier), then the once-sent one if it fits.
    expect(q.getBroadcasts(2, 1400).map(String)).toEqual(['cccccccccccc', 'bbbbb', 'aaaaaaaaaa']);
    // 2 + 12 fits in 16, 'bbbbb' does not fit any more.
    expect(q.getBroadcasts(2, 16).map(String)).toEqual(['cccccccccccc']);
  });

  it('prune keeps the least transmitted; reset finishes everything', () => {
    const done: string[] = [];
    const q = new TransmitLimitedQueue(() => 1000, 4);
    q.queueBroadcast(named('a', 'a', done));
    q.getBroadcasts(2, 1400);
    q.queueBroadcast(named('b', 'b', done));
    q.prune(1);
    expect(done).toEqual(['a']);
    q.reset();
    expect(done).toEqual(['a', 'b']);
    expect(q.numQueued()).toBe(0);
  });
});
