/**
 * Framing against memberlist itself, in this run: compound messages, LZW
 * (both directions, random data), AES-GCM payloads (versions 0 and 1, every
 * key size, with and without label AAD), the packet send path
 * (`rawSendMsgPacket`: compression, CRC, encryption) and receive path
 * (`ingestPacket`), and the stream path (`rawSendMsgStream` / `readStream`).
 */
import { describe, expect, it } from 'vitest';
import {
  decodeCompound,
  decodePacket,
  decryptPayload,
  encodeCompound,
  encodeMessage,
  encodePacket,
  encryptPayload,
  Keyring,
  lzwCompress,
  lzwDecompress,
  compressMessage,
  decompressBody,
  MessageType,
} from '../../../src/gossip/wire/index.js';
import { goVectors, haveGo, hex, seededBytes, unhex } from './go-vectors.js';
import { codeOf } from './refusals.js';

const alive = encodeMessage(MessageType.Alive, {
  Incarnation: 3,
  Node: 'ts-1',
  Addr: Buffer.from([198, 18, 0, 9]),
  Port: 7946,
  Meta: Buffer.from('role=worker'),
  Vsn: Buffer.from([1, 5, 2, 0, 0, 0]),
});
const suspect = encodeMessage(MessageType.Suspect, { Incarnation: 2, Node: 'go-1', From: 'ts-1' });
const dead = encodeMessage(MessageType.Dead, { Incarnation: 2, Node: 'go-2', From: 'go-2' });
const user = Buffer.concat([Buffer.from([MessageType.User]), Buffer.from('hello from typescript '.repeat(8))]);
const keys = { k16: seededBytes(16, 16), k24: seededBytes(24, 24), k32: seededBytes(32, 32) };

/** Inputs for LZW: empty, tiny, repetitive, random, and long enough to fill the 4096-code table. */
const lzwInputs = [
  Buffer.alloc(0),
  Buffer.from('a'),
  Buffer.from('abababababababababab'),
  Buffer.alloc(10000, 7),
  seededBytes(5, 1000),
  seededBytes(6, 20000, 4),
  seededBytes(7, 70000),
  Buffer.concat([alive, suspect, dead, user]),
];

describe.skipIf(!haveGo)('framing against memberlist (Go)', () => {
  it('builds compound messages byte for byte, and splits them as Go does', async () => {
    const parts = [alive, suspect, dead, Buffer.alloc(0)];
    const answer = await goVectors({ Op: 'compound', Inputs: parts.map(hex) });
    expect(hex(encodeCompound(parts))).toBe(answer.Outputs![0]);

    const body = encodeCompound(parts).subarray(1);
    const cut = [body, body.subarray(0, body.length - 3), body.subarray(0, 5)];
    const split = await goVectors({ Op: 'decode-compound', Inputs: cut.map(hex) });
    cut.forEach((input, i) => {
      if (split.Errors![i] !== '') {
        expect(codeOf(() => decodeCompound(input))).toBe('TRUNCATED');
        return;
      }
      const ours = decodeCompound(input);
      expect(ours.parts.map(hex)).toEqual(split.Decoded![i] ?? []);
      expect(ours.truncated).toBe(split.Trunc![i]);
    });
  });

  it('compresses exactly as compressPayload (LZW, LSB, 8-bit literals)', async () => {
    const answer = await goVectors({ Op: 'compress', Inputs: lzwInputs.map(hex) });
    lzwInputs.forEach((input, i) => expect(hex(compressMessage(input)), `input #${i}`).toBe(answer.Outputs![i]));
  });

  it('decompresses what Go compresses, and Go decompresses ours', async () => {
    const goCompressed = await goVectors({ Op: 'compress', Inputs: lzwInputs.map(hex) });
    goCompressed.Outputs!.forEach((out, i) => {
      const message = unhex(out); // [9][msgpack {Algo, Buf}]
      expect(hex(decompressBody(message.subarray(1), 1 << 20))).toBe(hex(lzwInputs[i]!));
      if (lzwInputs[i]!.length === 0) expect(codeOf(() => decodePacket(message, {}))).toBe('TRUNCATED');
    });
    const packed = unhex(goCompressed.Outputs!.at(-1)!); // alive + suspect + dead + user, as one message
    expect(decodePacket(packed, {}).map(hex)).toEqual([hex(lzwInputs.at(-1)!)]);
    const ours = lzwInputs.map((b) => hex(compressMessage(b).subarray(1)));
    const back = await goVectors({ Op: 'decompress', Inputs: ours });
    lzwInputs.forEach((input, i) => {
      expect(back.Errors![i]).toBe('');
      expect(back.Outputs![i]).toBe(hex(input));
    });
  });

  it('LZW on 60 random inputs (sizes 0–40,000, alphabets 2–256): identical both directions', async () => {
    const inputs = Array.from({ length: 60 }, (_, i) => seededBytes(1000 + i, (i * 7919) % 40_001, [2, 3, 16, 64, 256][i % 5]));
    const go = await goVectors({ Op: 'compress', Inputs: inputs.map(hex) });
    const back = await goVectors({ Op: 'decompress', Inputs: inputs.map((b) => hex(compressMessage(b).subarray(1))) });
    inputs.forEach((input, i) => {
      expect(hex(compressMessage(input)), `#${i}`).toBe(go.Outputs![i]);
      expect(hex(decompressBody(unhex(go.Outputs![i]!).subarray(1), 1 << 20)), `#${i}`).toBe(hex(input));
      expect(back.Outputs![i], `#${i}`).toBe(hex(input));
    });
  });

  it('refuses corrupt LZW where Go refuses it', async () => {
    const good = compressMessage(seededBytes(8, 3000)).subarray(1);
    // An LZW stream cut short (no EOF code), and an unknown algorithm.
    const lzw = lzwCompress(seededBytes(8, 3000));
    const cutLzw = lzw.subarray(0, lzw.length - 4);
    const cutMsg = encodeMessage(MessageType.Compress, { Algo: 0, Buf: cutLzw }).subarray(1);
    const badAlgo = encodeMessage(MessageType.Compress, { Algo: 1, Buf: lzw }).subarray(1);
    const answer = await goVectors({ Op: 'decompress', Inputs: [hex(good), hex(cutMsg), hex(badAlgo)] });
    expect(answer.Errors![0]).toBe('');
    expect(answer.Errors![1]).not.toBe('');
    expect(answer.Errors![2]).not.toBe('');
    expect(codeOf(() => lzwDecompress(cutLzw, 1 << 20))).toBe('BAD_COMPRESSION');
    expect(codeOf(() => decodePacket(Buffer.concat([Buffer.from([9]), badAlgo]), {}))).toBe('UNKNOWN_TYPE');
  });

  for (const vsn of [0, 1] as const) {
    for (const [name, key] of Object.entries(keys)) {
      it(`AES-GCM version ${vsn}, ${name}: Go opens ours, we open Go's, other keys fail`, async () => {
        const aad = Buffer.from('cluster-label');
        const plain = [Buffer.alloc(0), alive, seededBytes(9, 1500)];
        const goSealed = await goVectors({ Op: 'encrypt', Vsn: vsn, Key: hex(key), Aad: hex(aad), Inputs: plain.map(hex) });
        goSealed.Outputs!.forEach((sealed, i) => {
          expect(hex(decryptPayload([keys.k32, key], unhex(sealed), aad))).toBe(hex(plain[i]!));
          expect(codeOf(() => decryptPayload([seededBytes(99, key.length)], unhex(sealed), aad))).toBe('DECRYPT_FAILED');
          expect(codeOf(() => decryptPayload([key], unhex(sealed), Buffer.from('other')))).toBe('DECRYPT_FAILED');
        });
        const ours = plain.map((p) => hex(encryptPayload(vsn, key, p, aad)));
        const opened = await goVectors({ Op: 'decrypt', Keys: [hex(keys.k16), hex(key)], Aad: hex(aad), Inputs: ours });
        plain.forEach((p, i) => {
          expect(opened.Errors![i]).toBe('');
          expect(opened.Outputs![i]).toBe(hex(p));
          expect(ours[i]!.length / 2).toBe(goSealed.Outputs![i]!.length / 2);
        });
        const wrong = await goVectors({ Op: 'decrypt', Keys: [hex(seededBytes(98, 32))], Aad: hex(aad), Inputs: ours });
        wrong.Errors!.forEach((e) => expect(e).not.toBe(''));
      });
    }
  }

  it('frames packets as rawSendMsgPacket: compressed when smaller, CRC toward protocol 5', async () => {
    const compound = encodeCompound([alive, suspect, dead, user]);
    const inputs = [compound, suspect].map(hex);
    for (const [compress, pmax] of [[true, 5], [true, 4], [false, 5], [false, 2]] as const) {
      const answer = await goVectors({ Op: 'send-packet', PMax: pmax, Config: { Compress: compress }, Inputs: inputs });
      [[alive, suspect, dead, user], [suspect]].forEach((messages, i) => {
        expect(hex(encodePacket(messages, { compress, crc: pmax >= 5, encryptionEnabled: false }))).toBe(answer.Outputs![i]);
        expect(decodePacket(unhex(answer.Outputs![i]!), {}).map(hex)).toEqual(messages.map(hex));
      });
    }
  });

  it('opens packets Go encrypts (compressed, CRC), with the keys in any order', async () => {
    const compound = encodeCompound([alive, suspect, dead, user]);
    for (const version of [1, 2] as const) {
      const answer = await goVectors({
        Op: 'send-packet',
        PMax: 5,
        Config: { Compress: true, Keys: [hex(keys.k24)], VerifyOutgoing: true, ProtocolVersion: version },
        Inputs: [hex(compound)],
      });
      const packet = unhex(answer.Outputs![0]!);
      expect(packet[0]).toBe(version === 1 ? 0 : 1); // encryption version follows the protocol version
      const ring = new Keyring([keys.k16, keys.k24], keys.k16);
      expect(decodePacket(packet, { keyring: ring }).map(hex)).toEqual([alive, suspect, dead, user].map(hex));
      expect(codeOf(() => decodePacket(packet, { keyring: new Keyring([], keys.k32) }))).toBe('DECRYPT_FAILED');
    }
  });

  it('is ingested by ingestPacket: every part queued intact, encrypted or not', async () => {
    const messages = [alive, suspect, dead, user];
    const ring = new Keyring([], keys.k32);
    const plainPacket = encodePacket(messages, { compress: true, crc: true, encryptionEnabled: false });
    const sealed = [0, 1].map((v) =>
      encodePacket(messages, { compress: true, crc: true, encryptionEnabled: true, keyring: ring, encryptionVersion: v as 0 | 1 }),
    );
    const answer = await goVectors({ Op: 'ingest', Config: { Keys: [hex(keys.k32)], VerifyIncoming: true }, Inputs: sealed.map(hex) });
    const plainAnswer = await goVectors({ Op: 'ingest', Config: {}, Inputs: [hex(plainPacket)] });
    for (const queued of [...answer.Queued!, ...plainAnswer.Queued!]) {
      const got = (queued ?? []).map((q) => Buffer.concat([Buffer.from([q.Type]), Buffer.from(q.Body ?? '', 'base64')]));
      // Go queues alive first (high priority), then the rest.
      expect(got.map(hex).sort()).toEqual(messages.map(hex).sort());
    }
    // memberlist 0.2.2 predates labels: a labelled packet is dropped there.
    const labelled = encodePacket(messages, { compress: false, crc: false, encryptionEnabled: false, label: 'blue' });
    const old = await goVectors({ Op: 'ingest', Config: {}, Inputs: [hex(labelled)] });
    expect(old.Queued![0] ?? []).toEqual([]);
    const wrongKey = await goVectors({ Op: 'ingest', Config: { Keys: [hex(keys.k16)], VerifyIncoming: true }, Inputs: sealed.map(hex) });
    wrongKey.Queued!.forEach((q) => expect(q ?? []).toEqual([]));
  });
});
