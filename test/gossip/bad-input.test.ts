import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { PLAIN_PACKET, addrOf, useSimClusters } from './helpers.js';
import { seededRandom } from '../../src/gossip/clock.js';
import { MessageType, addCrc, encodeMessage, encodeMsgpack, encodePacket, Keyring } from '../../src/gossip/wire/index.js';

const simCluster = useSimClusters();


/** Polls real time (streams run outside the virtual clock) until `check` holds, at most 5 s. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

function withType(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), body]);
}

describe('bad input is dropped and counted, never fatal', () => {
  it('every kind of broken packet lands in its counter and probing goes on', async () => {
    const c = simCluster(41);
    const [a, b] = await c.addJoined(2);
    await c.runUntil(() => a!.numMembers() === 2, 10_000);
    const rogue = c.network.createTransport();
    const to = addrOf(a!);
    const alive = encodeMessage(MessageType.Alive, { Incarnation: 1, Node: 'x', Addr: Buffer.from([198, 18, 9, 9]), Port: 7946, Meta: Buffer.alloc(0), Vsn: Buffer.from([1, 5, 2, 0, 0, 0]) });
    const cases: Array<[string, Buffer]> = [
      ['emptyPacket', Buffer.alloc(0)],
      ['truncated', alive.subarray(0, alive.length - 4)],
      ['badField', withType(MessageType.Alive, encodeMsgpack({ Incarnation: 'one', Node: 5 }))],
      ['badMsgpack', withType(MessageType.Ping, Buffer.from([0xc1]))],
      ['unknownType', withType(99, Buffer.from([0x80]))],
      ['badCrc', (() => { const p = addCrc(alive); p[2]! ^= 0xff; return p; })()],
      ['truncated', Buffer.from([MessageType.Compound, 255, 0, 10])],
      ['badCompression', withType(MessageType.Compress, encodeMsgpack({ Algo: 0, Buf: Buffer.from([0xff, 0xff, 0xff, 0xff]) }))],
      ['unknownType', withType(MessageType.Compress, encodeMsgpack({ Algo: 7, Buf: Buffer.from([1]) }))],
    ];
    for (const [, packet] of cases) await rogue.writeTo(packet, to);
    const probesBefore = a!.getStats().probes;
    await c.run(5_000);
    const dropped = a!.getStats().dropped;
    const expected: Record<string, number> = {};
    for (const [reason] of cases) expected[reason] = (expected[reason] ?? 0) + 1;
    for (const [reason, n] of Object.entries(expected)) expect({ reason, n: dropped[reason as keyof typeof dropped] }).toEqual({ reason, n });
    expect(a!.getStats().probes).toBeGreaterThan(probesBefore + 2);
    expect(a!.member('x')).toBeUndefined();
    expect(a!.member('node1')?.state).toBe('alive');
    expect(b!.member('node0')?.state).toBe('alive');
  });

  it('encrypted nodes count undecryptable and plaintext packets', async () => {
    const c = simCluster(42);
    const a = await c.add('a', { secretKey: randomBytes(16) });
    const rogue = c.network.createTransport();
    const ping = encodeMessage(MessageType.Ping, { SeqNo: 1, Node: 'a' });
    await rogue.writeTo(ping, addrOf(a));
    const other = randomBytes(16);
    const wrongKey = new Keyring([other], other);
    await rogue.writeTo(encodePacket([ping], { ...PLAIN_PACKET, encryptionEnabled: true, keyring: wrongKey }), addrOf(a));
    await c.run(10);
    expect(a.getStats().dropped.decryptFailed).toBe(2); // plaintext does not decrypt either
  });

  it('20,000 mutated datagrams neither crash a node nor stop its probes', async () => {
    const c = simCluster(43);
    const [a] = await c.addJoined(2);
    const rogue = c.network.createTransport();
    const random = seededRandom(99);
    const valid = [
      encodeMessage(MessageType.Ping, { SeqNo: 7, Node: 'node0' }),
      encodeMessage(MessageType.Suspect, { Incarnation: 1, Node: 'node1', From: 'z' }),
      encodePacket([encodeMessage(MessageType.Dead, { Incarnation: 0, Node: 'q', From: 'z' }), encodeMessage(MessageType.AckResp, { SeqNo: 3, Payload: Buffer.alloc(0) })], PLAIN_PACKET),
    ];
    const count = 20_000; // the million-input fuzz of the decoders lives in scripts/fuzz-gossip.ts
    for (let i = 0; i < count; i++) {
      const base = valid[i % valid.length]!;
      const mutated = Buffer.from(base.subarray(0, Math.floor(random() * (base.length + 1))));
      for (let k = 0; k < 3; k++) if (mutated.length > 0) mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
      await rogue.writeTo(mutated, addrOf(a!));
      if (i % 1000 === 0) await c.run(10);
    }
    const probesBefore = a!.getStats().probes;
    await c.run(3_000);
    expect(a!.getStats().packetsReceived).toBeGreaterThan(count);
    expect(a!.getStats().probes).toBeGreaterThan(probesBefore);
    expect(a!.member('node1')?.state).toBe('alive');
  });

  it('a stalled stream times out and is counted; bad streams get an error answer', async () => {
    const c = simCluster(44);
    const a = await c.add('a', { tcpTimeoutMs: 100 });
    const rogue = c.network.createTransport();
    const stalled = await rogue.dialTimeout(addrOf(a), 1000);
    stalled.write(Buffer.from([MessageType.PushPull])); // then nothing
    await until(() => a.getStats().dropped.streamTimeout > 0); // the stream deadline runs on real time
    expect(a.getStats().dropped.streamTimeout).toBe(1);

    const huge = await rogue.dialTimeout(addrOf(a), 1000);
    const answer: Buffer[] = [];
    let closed = false;
    huge.on('data', (d: Buffer) => answer.push(d));
    huge.on('close', () => { closed = true; });
    huge.write(withType(MessageType.PushPull, encodeMsgpack({ Join: false, Nodes: 2_000_000_000, UserStateLen: 0 })));
    await until(() => a.getStats().dropped.tooLarge > 0 && closed);
    expect(a.getStats().dropped.tooLarge).toBe(1);
    expect(answer).toEqual([]); // like memberlist: a bad push/pull body is dropped and the stream closed

    // A stream that cannot be opened (here: encrypted, but we have no keys) gets [13][err] back.
    const sealed = await rogue.dialTimeout(addrOf(a), 1000);
    const errAnswer: Buffer[] = [];
    sealed.on('data', (d: Buffer) => errAnswer.push(d));
    sealed.write(Buffer.from([MessageType.Encrypt, 0, 0, 0, 4, 1, 2, 3, 4]));
    await until(() => errAnswer.length > 0);
    expect(a.getStats().dropped.decryptFailed).toBe(1);
    expect(Buffer.concat(errAnswer)[0]).toBe(MessageType.Compress); // [13][err], compressed as Go sends it

    const unknown = await rogue.dialTimeout(addrOf(a), 1000);
    unknown.write(Buffer.from([42, 0x80]));
    await until(() => a.getStats().dropped.unexpectedType > 0);
    expect(a.getStats().dropped.unexpectedType).toBe(1);
  });
});
