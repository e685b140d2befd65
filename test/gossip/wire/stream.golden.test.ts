/**
 * Stream framing against memberlist's rawSendMsgStream / readStream, in
 * this run: compression always on when enabled, `[10][u32 len]` encryption
 * with the header as AAD, and the refusals (plaintext while verifying,
 * encrypted without keys, wrong key).
 */
import { describe, expect, it } from 'vitest';
import {
  BufferStreamReader,
  encodeBody,
  encodeMessage,
  encodeStreamMessage,
  Keyring,
  MessageType,
  openStream,
  type PushNodeState,
  type PushPullHeader,
} from '../../../src/gossip/wire/index.js';
import { codeOfAsync } from './refusals.js';
import { goVectors, haveGo, hex, seededBytes, unhex } from './go-vectors.js';

const key = seededBytes(77, 32);
const userState = Buffer.from('delegate-state');

/** A push/pull request with 120 node states, as memberlist's sendLocalState writes it. */
function pushPull(): { message: Buffer; states: PushNodeState[] } {
  const states: PushNodeState[] = Array.from({ length: 120 }, (_, i) => ({
    Name: `node-${i}`,
    Addr: Buffer.from([198, 18, i >> 8, i & 0xff]),
    Port: 7946,
    Meta: Buffer.alloc(0),
    Incarnation: i,
    State: (i % 4) as PushNodeState['State'],
    Vsn: Buffer.from([1, 5, 2, 0, 0, 0]),
  }));
  const header: PushPullHeader = { Nodes: states.length, UserStateLen: userState.length, Join: true };
  const message = Buffer.concat([encodeMessage(MessageType.PushPull, header), ...states.map((s) => encodeBody('PushNodeState', s)), userState]);
  return { message, states };
}

async function readPushPull(stream: BufferStreamReader | Awaited<ReturnType<typeof openStream>>): Promise<{ header: PushPullHeader; states: PushNodeState[]; user: Buffer }> {
  expect(await stream.readByte()).toBe(MessageType.PushPull);
  const header = await stream.readBody<PushPullHeader>(MessageType.PushPull);
  const states: PushNodeState[] = [];
  for (let i = 0; i < header.Nodes; i++) states.push(await stream.readBody<PushNodeState>('PushNodeState'));
  return { header, states, user: await stream.readBytes(header.UserStateLen) };
}

/** How openStream answers `input` read from memory. */
function openCode(input: Buffer, opts: Parameters<typeof openStream>[1]): Promise<string> {
  return codeOfAsync(openStream(new BufferStreamReader(input), opts));
}

describe.skipIf(!haveGo)('stream framing against memberlist (Go)', () => {
  const configs = [
    { name: 'plain', go: {}, ours: { compress: false, crc: false, encryptionEnabled: false } },
    { name: 'compressed', go: { Compress: true }, ours: { compress: true, crc: false, encryptionEnabled: false } },
  ];

  for (const c of configs) {
    it(`writes ${c.name} streams byte for byte as rawSendMsgStream`, async () => {
      const { message } = pushPull();
      const answer = await goVectors({ Op: 'stream-write', Config: c.go, Inputs: [hex(message)] });
      expect(hex(encodeStreamMessage(message, c.ours))).toBe(answer.Outputs![0]);
    });
  }

  for (const compress of [false, true]) {
    it(`reads Go's encrypted${compress ? ', compressed' : ''} push/pull with 120 states, and Go reads ours`, async () => {
      const { message, states } = pushPull();
      const goConfig = { Keys: [hex(key)], Compress: compress, VerifyIncoming: true, VerifyOutgoing: true };
      const written = await goVectors({ Op: 'stream-write', Config: goConfig, Inputs: [hex(message)] });
      const goBytes = unhex(written.Outputs![0]!);
      expect(goBytes[0]).toBe(MessageType.Encrypt);
      const keyring = new Keyring([seededBytes(1, 16), key], seededBytes(1, 16));
      const got = await readPushPull(await openStream(new BufferStreamReader(goBytes), { keyring, expectLabel: true }));
      expect(got.header).toEqual({ Nodes: 120, UserStateLen: userState.length, Join: true });
      expect(got.states.map((s) => ({ ...s, Meta: hex(s.Meta) }))).toEqual(states.map((s) => ({ ...s, Meta: '' })));
      expect(got.user.toString()).toBe('delegate-state');

      const ours = encodeStreamMessage(message, { compress, crc: false, encryptionEnabled: true, keyring: new Keyring([], key) });
      const read = await goVectors({ Op: 'stream-read', Config: goConfig, Inputs: [hex(ours)] });
      expect(read.Errors![0]).toBe('');
      expect(read.Types![0]).toBe(MessageType.PushPull);
      expect(read.Outputs![0]).toBe(hex(message.subarray(1)));

      const wrong = await goVectors({ Op: 'stream-read', Config: { ...goConfig, Keys: [hex(seededBytes(2, 32))] }, Inputs: [hex(ours)] });
      expect(wrong.Errors![0]).not.toBe('');
      expect(await openCode(goBytes, { keyring: new Keyring([], seededBytes(2, 32)), expectLabel: true })).toBe('DECRYPT_FAILED');
    });
  }

  it('refuses plaintext while verifying, and encrypted streams without keys, as Go does', async () => {
    const { message } = pushPull();
    const plain = encodeStreamMessage(message, { compress: false, crc: false, encryptionEnabled: false });
    const sealed = encodeStreamMessage(message, { compress: false, crc: false, encryptionEnabled: true, keyring: new Keyring([], key) });
    const verifying = await goVectors({ Op: 'stream-read', Config: { Keys: [hex(key)], VerifyIncoming: true }, Inputs: [hex(plain)] });
    const lenient = await goVectors({ Op: 'stream-read', Config: { Keys: [hex(key)], VerifyIncoming: false }, Inputs: [hex(plain)] });
    const keyless = await goVectors({ Op: 'stream-read', Config: {}, Inputs: [hex(sealed)] });
    expect(verifying.Errors![0]).not.toBe('');
    expect(lenient.Errors![0]).toBe('');
    expect(keyless.Errors![0]).not.toBe('');
    const keyring = new Keyring([], key);
    expect(await openCode(plain, { keyring, expectLabel: true })).toBe('NOT_ENCRYPTED');
    expect(await openCode(plain, { keyring, gossipVerifyIncoming: false, expectLabel: true })).toBe('none');
    expect(await openCode(sealed, { expectLabel: true })).toBe('DECRYPT_FAILED');
  });
});
