/**
 * Packet framing round trips and refusals: every option combination,
 * labels (header, mismatch, skip-inbound-check, AAD), key rotation and the
 * verify-incoming/outgoing switches, and each kind of bad packet with its
 * error code.
 */
import { describe, expect, it } from 'vitest';
import {
  addCrc,
  decodePacket,
  encodeCompound,
  encodeMessage,
  encodeMsgpack,
  encodePacket,
  encryptPayload,
  Keyring,
  makeCompound,
  MessageType,
  type GossipWireErrorCode,
  type PacketOptions,
} from '../../../src/gossip/wire/index.js';
import { codeOf } from './refusals.js';

const key1 = Buffer.alloc(16, 1);
const key2 = Buffer.alloc(32, 2);
const messages = [
  encodeMessage(MessageType.Ping, { SeqNo: 1, Node: 'a' }),
  encodeMessage(MessageType.Suspect, { Incarnation: 1, Node: 'b', From: 'a' }),
  encodeMessage(MessageType.Alive, { Incarnation: 1, Node: 'a', Addr: Buffer.from([198, 18, 0, 1]), Port: 7946, Meta: Buffer.alloc(0), Vsn: Buffer.from([1, 5, 2, 0, 0, 0]) }),
  Buffer.concat([Buffer.from([MessageType.User]), Buffer.alloc(300, 0x61)]),
];
const h = (list: Buffer[]): string[] => list.map((b) => b.toString('hex'));

describe('encodePacket / decodePacket round trips', () => {
  const keyring = new Keyring([], key1);
  for (const compress of [false, true]) {
    for (const crc of [false, true]) {
      for (const encrypt of [false, true]) {
        for (const label of ['', 'prod']) {
          for (const count of [1, 4]) {
            it(`compress=${compress} crc=${crc} encrypt=${encrypt} label=${label || '-'} messages=${count}`, () => {
              const opts: PacketOptions = { compress, crc, encryptionEnabled: encrypt, keyring, label, encryptionVersion: 1 };
              const packet = encodePacket(messages.slice(0, count), opts);
              expect(packet[0] === MessageType.HasLabel).toBe(label !== '');
              expect(h(decodePacket(packet, { keyring: encrypt ? keyring : undefined, label }))).toEqual(h(messages.slice(0, count)));
            });
          }
        }
      }
    }
  }

  it('compresses only when that makes the packet smaller', () => {
    const small = encodePacket([messages[0]!], { compress: true, crc: false, encryptionEnabled: false });
    expect(small).toEqual(messages[0]);
    const big = encodePacket([messages[3]!], { compress: true, crc: false, encryptionEnabled: false });
    expect(big[0]).toBe(MessageType.Compress);
    expect(big.length).toBeLessThan(messages[3]!.length);
  });

  it('makeCompound splits at 255 parts', () => {
    const many = Array.from({ length: 600 }, (_, i) => encodeMessage(MessageType.NackResp, { SeqNo: i }));
    const packets = makeCompound(many);
    expect(packets.map((p) => p[1])).toEqual([255, 255, 90]);
    expect(packets.flatMap((p) => decodePacket(p, {}))).toEqual(many);
    expect(makeCompound([many[0]!])).toEqual([many[0]]);
  });

  it('unwraps compounds inside compressed messages inside compounds', () => {
    const inner = encodePacket(messages, { compress: true, crc: false, encryptionEnabled: false });
    const outer = encodeCompound([inner, messages[0]!]);
    expect(h(decodePacket(outer, {}))).toEqual(h([...messages, messages[0]!]));
  });
});

describe('labels', () => {
  const plain = { compress: false, crc: false, encryptionEnabled: false };

  it('drops packets with another label, or none, or an unexpected one', () => {
    const labelled = encodePacket(messages, { ...plain, label: 'blue' });
    const bare = encodePacket(messages, plain);
    expect(codeOf(() => decodePacket(labelled, { label: 'green' }))).toBe('BAD_LABEL');
    expect(codeOf(() => decodePacket(bare, { label: 'green' }))).toBe('BAD_LABEL');
    expect(codeOf(() => decodePacket(labelled, {}))).toBe('BAD_LABEL');
  });

  it('with skipInboundLabelCheck takes bare packets as ours and refuses labelled ones', () => {
    const keyring = new Keyring([], key1);
    // The sender encrypted with our label as AAD but sent no header.
    const aadOnly = encryptPayload(1, key1, messages[0]!, Buffer.from('blue'));
    expect(h(decodePacket(aadOnly, { keyring, label: 'blue', skipInboundLabelCheck: true }))).toEqual(h([messages[0]!]));
    const labelled = encodePacket(messages, { ...plain, label: 'blue' });
    expect(codeOf(() => decodePacket(labelled, { label: 'blue', skipInboundLabelCheck: true }))).toBe('BAD_LABEL');
  });

  it('binds encryption to the label (AAD)', () => {
    const keyring = new Keyring([], key1);
    const packet = encodePacket(messages, { ...plain, encryptionEnabled: true, keyring, label: 'blue' });
    const relabelled = Buffer.concat([Buffer.from([MessageType.HasLabel, 5]), Buffer.from('green'), packet.subarray(6)]);
    expect(codeOf(() => decodePacket(relabelled, { keyring, label: 'green' }))).toBe('DECRYPT_FAILED');
  });

  it('refuses empty, truncated and over-long labels', () => {
    expect(codeOf(() => decodePacket(Buffer.from([244]), {}))).toBe('BAD_LABEL');
    expect(codeOf(() => decodePacket(Buffer.from([244, 0, 0]), {}))).toBe('BAD_LABEL');
    expect(codeOf(() => decodePacket(Buffer.from([244, 9, 0x61]), {}))).toBe('BAD_LABEL');
    expect(() => encodePacket(messages, { ...plain, label: 'x'.repeat(256) })).toThrow(RangeError);
  });
});

describe('keys', () => {
  it('rotates without loss: add, use, remove', () => {
    const sender = new Keyring([], key1);
    const receiver = new Keyring([], key1);
    const opts = (keyring: Keyring): PacketOptions => ({ compress: false, crc: false, encryptionEnabled: true, keyring });
    receiver.addKey(key2); // receiver learns the new key first
    expect(h(decodePacket(encodePacket(messages, opts(sender)), { keyring: receiver }))).toEqual(h(messages));
    sender.addKey(key2);
    sender.useKey(key2); // sender switches
    expect(h(decodePacket(encodePacket(messages, opts(sender)), { keyring: receiver }))).toEqual(h(messages));
    receiver.useKey(key2);
    receiver.removeKey(key1); // old key retired
    expect(codeOf(() => decodePacket(encodePacket(messages, opts(new Keyring([], key1))), { keyring: receiver }))).toBe('DECRYPT_FAILED');
    expect(receiver.keys()).toEqual([key2]);
  });

  it('refuses bad key sizes, unknown keys and removing the primary', () => {
    const ring = new Keyring([key2], key1);
    expect(ring.keys()).toEqual([key1, key2]);
    expect(() => ring.addKey(Buffer.alloc(15))).toThrow(expect.objectContaining({ code: 'BAD_KEY_SIZE' }));
    expect(() => ring.useKey(Buffer.alloc(24))).toThrow(expect.objectContaining({ code: 'KEY_NOT_FOUND' }));
    expect(() => ring.removeKey(key1)).toThrow(expect.objectContaining({ code: 'REMOVE_PRIMARY' }));
    expect(() => new Keyring([key1])).toThrow(expect.objectContaining({ code: 'NO_PRIMARY' }));
    expect(new Keyring().enabled).toBe(false);
  });

  it('verify-outgoing off sends plaintext; verify-incoming off accepts it', () => {
    const keyring = new Keyring([], key1);
    const packet = encodePacket(messages, { compress: false, crc: false, encryptionEnabled: true, keyring, gossipVerifyOutgoing: false });
    expect(packet).toEqual(encodeCompound(messages));
    expect(codeOf(() => decodePacket(packet, { keyring }))).toBe('DECRYPT_FAILED');
    expect(h(decodePacket(packet, { keyring, gossipVerifyIncoming: false }))).toEqual(h(messages));
  });

  it('encryption version 0 pads and still round-trips', () => {
    const keyring = new Keyring([], key2);
    const packet = encodePacket([messages[0]!], { compress: false, crc: false, encryptionEnabled: true, keyring, encryptionVersion: 0 });
    expect(packet[0]).toBe(0);
    expect((packet.length - 29) % 16).toBe(0);
    expect(h(decodePacket(packet, { keyring }))).toEqual(h([messages[0]!]));
  });
});

describe('bad packets are refused with a code', () => {
  const keyring = new Keyring([], key1);
  const good = encodePacket(messages, { compress: false, crc: true, encryptionEnabled: false });

  it.each<[string, Buffer, GossipWireErrorCode]>([
    ['empty packet', Buffer.alloc(0), 'TRUNCATED'],
    ['compound without count', Buffer.from([7]), 'TRUNCATED'],
    ['compound count beyond the length table', Buffer.from([7, 200, 0, 1]), 'TRUNCATED'],
    ['bad CRC', Buffer.concat([good.subarray(0, 5), Buffer.from([good[5]! ^ 1]), good.subarray(6)]), 'BAD_CRC'],
    ['compress with garbage body', Buffer.from([9, 0xc1]), 'BAD_MSGPACK'],
    ['compress with a wrongly typed field', Buffer.concat([Buffer.from([9]), encodeMsgpack({ Algo: 'lzw', Buf: null })]), 'BAD_FIELD'],
    ['compress whose Buf is not LZW', encodeMessage(MessageType.Compress, { Algo: 0, Buf: Buffer.from([1, 2, 3]) }), 'BAD_COMPRESSION'],
    ['compress with an unknown algorithm', encodeMessage(MessageType.Compress, { Algo: 3, Buf: Buffer.from([1]) }), 'UNKNOWN_TYPE'],
    ['compounds nested too deeply', nest(6), 'TOO_LARGE'],
  ])('%s', (_name, packet, code) => {
    expect(codeOf(() => decodePacket(packet, {}))).toBe(code);
  });

  it('undecryptable and plaintext packets on a keyed node', () => {
    expect(codeOf(() => decodePacket(good, { keyring }))).toBe('DECRYPT_FAILED');
    expect(codeOf(() => decodePacket(Buffer.from([1, 2, 3]), { keyring }))).toBe('DECRYPT_FAILED');
    expect(codeOf(() => decodePacket(Buffer.concat([Buffer.from([7]), Buffer.alloc(40)]), { keyring }))).toBe('DECRYPT_FAILED');
  });

  it('keeps the good parts of a compound and reports the bad ones', () => {
    const dropped: string[] = [];
    const packet = encodeCompound([messages[0]!, Buffer.alloc(0), Buffer.from([9, 0xc1]), messages[1]!]);
    const cut = packet.subarray(0, packet.length - 2);
    expect(h(decodePacket(cut, { onPartDropped: (e) => dropped.push(e.code) }))).toEqual(h([messages[0]!]));
    expect(dropped).toEqual(['TRUNCATED', 'TRUNCATED', 'BAD_MSGPACK']);
    expect(codeOf(() => decodePacket(cut, {}))).toBe('TRUNCATED');
  });

  it('a CRC header over a too-short buffer is passed through as Go does', () => {
    expect(decodePacket(Buffer.from([12, 1, 2, 3]), {})).toEqual([Buffer.from([12, 1, 2, 3])]);
    expect(decodePacket(addCrc(messages[0]!), {})).toEqual([messages[0]]);
  });
});

/** A message wrapped `depth` times in compounds. */
function nest(depth: number): Buffer {
  let msg = messages[0]!;
  for (let i = 0; i < depth; i++) msg = encodeCompound([msg, msg]);
  return msg;
}
