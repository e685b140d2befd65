import { describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { MessageType, encodeMessage, type Suspect } from '../../../src/gossip/wire/index.js';
import { eventually, tsAddress, tsState, useInteropNodes } from './cluster.js';

const { haveGo, go, ts } = useInteropNodes();

/** Sends one plaintext memberlist message from a throwaway socket. */
async function sendRaw(port: number, msg: Buffer): Promise<void> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => sock.send(msg, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  sock.close();
}

describe.skipIf(!haveGo)('incarnations and updates across implementations', () => {
  it('a TS node falsely suspected by Go refutes, and Go accepts the refutation', async () => {
    const t = await ts('ts-accused');
    const g = await go('go-judge', ['-join', tsAddress(t)]);
    const before = (await g.until((m) => m.some((x) => x.name === 'ts-accused' && x.state === 'alive'))).find((x) => x.name === 'ts-accused')!.incarnation;
    const s: Suspect = { Incarnation: before, Node: 'ts-accused', From: 'somebody' };
    await sendRaw(g.port, encodeMessage(MessageType.Suspect, s));
    await g.until((m) => m.some((x) => x.name === 'ts-accused' && x.state === 'alive' && x.incarnation > before), 10_000);
    expect(t.getStats().refutations).toBeGreaterThan(0);
    expect(t.localNode().incarnation).toBeGreaterThan(before);
  });

  it('a Go node falsely suspected by TS refutes, and TS accepts the refutation', async () => {
    const t = await ts('ts-judge');
    const g = await go('go-accused', ['-join', tsAddress(t)]);
    await eventually(() => tsState(t, 'go-accused') === 'alive', 10_000, 'go-accused alive');
    const before = t.member('go-accused')!.incarnation;
    await sendRaw(t.localNode().port, encodeMessage(MessageType.Suspect, { Incarnation: before, Node: 'go-accused', From: 'somebody' }));
    await eventually(() => t.member('go-accused')!.incarnation > before && tsState(t, 'go-accused') === 'alive', 10_000, 'refuted');
    expect((await g.members()).find((x) => x.name === 'go-accused')!.incarnation).toBeGreaterThan(before);
  });

  it('node meta updates reach Go (NotifyUpdate) and Go meta reaches TS', async () => {
    let meta = 'v1';
    const t = await ts('ts-meta', {}, {
      delegate: {
        nodeMeta: () => Buffer.from(meta), notifyMsg: () => undefined, getBroadcasts: () => [],
        localState: () => Buffer.alloc(0), mergeRemoteState: () => undefined,
      },
    });
    const g = await go('go-meta', ['-meta', 'go-v1', '-join', tsAddress(t)]);
    await eventually(() => t.member('go-meta')?.meta.toString() === 'go-v1', 10_000, 'Go meta on TS');
    meta = 'v2';
    await t.updateNode(5_000);
    const ev = await g.waitFor((e) => e.event === 'update' && e.node === 'ts-meta', 10_000);
    expect(ev.meta).toBe('v2');
  });

  it('user state rides on push/pull both ways', async () => {
    const remote: string[] = [];
    const t = await ts('ts-state', {}, {
      delegate: {
        nodeMeta: () => Buffer.alloc(0), notifyMsg: () => undefined, getBroadcasts: () => [],
        localState: (join) => Buffer.from(`ts-state join=${join}`), mergeRemoteState: (b, join) => remote.push(`${b.toString()} (join=${join})`),
      },
    });
    const g = await go('go-state', ['-user-state', 'go-state-blob', '-join', tsAddress(t)]);
    const ev = await g.waitFor((e) => e.event === 'remote-state', 10_000);
    expect(ev.data).toBe('ts-state join=true');
    expect(ev.join).toBe(true);
    await eventually(() => remote.length > 0, 10_000, 'Go state on TS');
    expect(remote[0]).toBe('go-state-blob (join=true)');
  });
});
