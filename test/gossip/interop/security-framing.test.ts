import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { NetTransport } from '../../../src/gossip/net-transport.js';
import type { InboundPacket, Transport } from '../../../src/gossip/transport.js';
import { eventually, tsAddress, tsState, useInteropNodes } from './cluster.js';

const { haveGo, go, ts } = useInteropNodes();

/** Wraps a transport and keeps a copy of every inbound datagram. */
function spy(inner: Transport, seen: InboundPacket[]): Transport {
  return {
    finalAdvertiseAddr: (ip, port) => inner.finalAdvertiseAddr(ip, port),
    writeTo: (buf, to) => inner.writeTo(buf, to),
    onPacket: (handler) => inner.onPacket((p) => { seen.push({ ...p, buf: Buffer.from(p.buf) }); handler(p); }),
    dialTimeout: (to, ms) => inner.dialTimeout(to, ms),
    onStream: (handler) => inner.onStream(handler),
    shutdown: () => inner.shutdown(),
  };
}

describe.skipIf(!haveGo)('encryption with Go memberlist', () => {
  for (const size of [16, 24, 32]) {
    it(`a shared ${size}-byte key works both ways`, async () => {
      const key = randomBytes(size);
      const t = await ts('ts-enc', { secretKey: key });
      const g = await go('go-enc', ['-key', key.toString('base64'), '-join', tsAddress(t)]);
      const res = await g.waitFor((e) => e.event === 'join-result');
      expect(res.error).toBeUndefined();
      const t2 = await ts('ts-enc2', { secretKey: key });
      expect(await t2.join([g.address])).toBe(1);
      for (const n of [t, t2]) await eventually(() => ['go-enc', 'ts-enc', 'ts-enc2'].every((x) => tsState(n, x) === 'alive'), 15_000, 'all alive');
      await g.until((m) => ['ts-enc', 'ts-enc2'].every((x) => m.some((y) => y.name === x && y.state === 'alive')), 15_000);
      expect(t.getStats().dropped.decryptFailed).toBe(0);
    });
  }

  it('a wrong key is refused both ways', async () => {
    const t = await ts('ts-k1', { secretKey: randomBytes(16) });
    const g = await go('go-k2', ['-key', randomBytes(16).toString('base64'), '-join', tsAddress(t)]);
    const res = await g.waitFor((e) => e.event === 'join-result');
    expect(res.joined).toBe(0);
    expect(String(res.error)).toMatch(/./);
    await expect(t.join([g.address])).rejects.toMatchObject({ code: 'JOIN_FAILED' });
    expect(t.getStats().dropped.decryptFailed).toBeGreaterThan(0);
    expect(tsState(t, 'go-k2')).toBe('unknown');
    expect((await g.members()).some((m) => m.name === 'ts-k1')).toBe(false);
  });

  it('plaintext is refused by an encrypting node, both ways', async () => {
    const t = await ts('ts-plain');
    const g = await go('go-secret', ['-key', randomBytes(32).toString('base64')]);
    await expect(t.join([g.address])).rejects.toMatchObject({ code: 'JOIN_FAILED' });
    const tEnc = await ts('ts-secret', { secretKey: randomBytes(32) });
    const g2 = await go('go-plain', ['-join', tsAddress(tEnc)]);
    expect((await g2.waitFor((e) => e.event === 'join-result')).joined).toBe(0);
    expect(tEnc.getStats().dropped.notEncrypted).toBeGreaterThan(0);
  });

  it('a key rotated in at run time through the keyring', async () => {
    const oldKey = randomBytes(16);
    const newKey = randomBytes(16);
    const t = await ts('ts-rot', { secretKey: oldKey });
    t.keyring()!.addKey(newKey);
    t.keyring()!.useKey(newKey); // we now send with newKey, still accept oldKey
    const g = await go('go-new', ['-key', newKey.toString('base64'), '-join', tsAddress(t)]);
    expect((await g.waitFor((e) => e.event === 'join-result')).joined).toBe(1);
    await eventually(() => tsState(t, 'go-new') === 'alive', 10_000, 'go-new alive');
  });
});

describe.skipIf(!haveGo)('labels against Go 0.2.2 (which has none)', () => {
  it('a labelled TS node and an unlabelled Go node refuse each other', async () => {
    const t = await ts('ts-labelled', { label: 'blue' });
    const g = await go('go-unlabelled');
    await expect(t.join([g.address])).rejects.toMatchObject({ code: 'JOIN_FAILED' });
    const g2 = await go('go-unlabelled2', ['-join', tsAddress(t)]);
    expect((await g2.waitFor((e) => e.event === 'join-result')).joined).toBe(0);
    expect(t.getStats().dropped.badLabel).toBeGreaterThan(0);
    expect(t.numMembers()).toBe(1);
  });
});

describe.skipIf(!haveGo)('framing from Go', () => {
  it('understands CRC-wrapped, LZW-compressed gossip from Go', async () => {
    const seen: InboundPacket[] = [];
    const net = await NetTransport.listen({ bindAddr: '127.0.0.1', bindPort: 0 });
    const t = await ts('ts-frame', { transport: spy(net, seen), bindPort: net.port });
    const meta = 'overlay-meta-'.repeat(30);
    const g = await go('go-frame', ['-meta', meta, '-join', tsAddress(t)]);
    await eventually(() => t.members().find((n) => n.name === 'go-frame')?.meta.toString() === meta, 10_000, 'meta of go-frame');
    // Go CRCs only what its gossip loop sends (probes and acks go without): each new
    // Go node makes go-frame gossip an alive message, carrying the long meta, to us.
    const crcCompressed = (): boolean => seen.some((p) => p.buf[0] === 12 && p.buf[5] === 9);
    for (let i = 0; i < 5 && !crcCompressed(); i++) {
      await go(`go-frame-${i}`, ['-meta', meta, '-join', g.address]);
      await eventually(() => tsState(t, `go-frame-${i}`) === 'alive', 10_000, `go-frame-${i} via gossip`);
      await eventually(crcCompressed, 2_000, 'a CRC frame from Go').catch(() => undefined);
    }
    expect(crcCompressed()).toBe(true); // [12][crc32] then [9] compressed, as Go sends toward protocol-5 nodes
    expect(t.getStats().dropped.badCrc).toBe(0);
    expect(t.getStats().dropped.badCompression).toBe(0);
  });
});
