/**
 * Fuzzes the gossip wire decoders: decodePacket (plain, keyed, labelled),
 * decodeBody (every body kind), LZW decompression and stream opening/reading,
 * with random inputs and mutations of valid packets and streams.
 *
 * A decoder may accept an input or refuse it with a GossipWireError; any
 * other exception is a bug and is reported with the input in hex.
 *
 *   npx tsx scripts/fuzz-gossip.ts [iterations=1000000] [seed=1]
 *
 * The test suite runs a ~20,000-input share of the same core
 * (test/gossip/wire/fuzz.test.ts).
 */
import { pathToFileURL } from 'node:url';
import {
  BufferStreamReader,
  decodeBody,
  decodePacket,
  encodeBody,
  encodeMessage,
  encodePacket,
  encodeStreamMessage,
  GossipWireError,
  Keyring,
  lzwCompress,
  lzwDecompress,
  MessageType,
  openStream,
  type BodyKind,
  type DecodeOptions,
  type PushPullHeader,
} from '../src/gossip/wire/index.js';

/** Outcome of a fuzz run. */
export interface FuzzReport {
  /** Inputs tried. */
  inputs: number;
  /** Inputs some decoder accepted. */
  accepted: number;
  /** Refusals by GossipWireError code. */
  refused: Record<string, number>;
  /** Exceptions that were not GossipWireError (bugs), with the input in hex. */
  crashes: Array<{ target: string; input: string; error: string }>;
}

/** xorshift32: reproducible randomness for a given seed. */
class Rng {
  private x: number;
  constructor(seed: number) {
    this.x = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.x;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.x = x;
    return x;
  }
  int(n: number): number {
    return this.next() % n;
  }
  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

const KEY = Buffer.alloc(16, 0x42);
const LABEL = 'fuzz';
const VSN = Buffer.from([1, 5, 2, 0, 0, 0]);
const INTERESTING = [0x00, 0x01, 0x07, 0x09, 0x0a, 0x0c, 0x7f, 0x80, 0x90, 0xa0, 0xc0, 0xc1, 0xc4, 0xcc, 0xcf, 0xd9, 0xda, 0xdb, 0xdc, 0xde, 0xdf, 0xf4, 0xff];

/** Valid messages of every kind, the seeds of mutation. */
function sampleMessages(): Buffer[] {
  const addr = Buffer.from([198, 18, 0, 1]);
  return [
    encodeMessage(MessageType.Ping, { SeqNo: 1, Node: 'a', SourceAddr: addr, SourcePort: 7946, SourceNode: 'b' }),
    encodeMessage(MessageType.IndirectPing, { SeqNo: 2, Target: addr, Port: 7946, Node: 'c', Nack: true }),
    encodeMessage(MessageType.AckResp, { SeqNo: 3, Payload: Buffer.from('payload') }),
    encodeMessage(MessageType.NackResp, { SeqNo: 4 }),
    encodeMessage(MessageType.Err, { Error: 'bad' }),
    encodeMessage(MessageType.Suspect, { Incarnation: 5, Node: 'd', From: 'e' }),
    encodeMessage(MessageType.Alive, { Incarnation: 6, Node: 'f', Addr: addr, Port: 7946, Meta: Buffer.from('meta'), Vsn: VSN }),
    encodeMessage(MessageType.Dead, { Incarnation: 7, Node: 'g', From: 'g' }),
    Buffer.concat([Buffer.from([MessageType.User]), Buffer.from('user data')]),
  ];
}

/** A push/pull stream body with a few states and user state. */
function samplePushPull(): Buffer {
  const header: PushPullHeader = { Nodes: 3, UserStateLen: 4, Join: false };
  const states = [0, 1, 2].map((i) =>
    encodeBody('PushNodeState', { Name: `n${i}`, Addr: Buffer.from([198, 18, 0, i]), Port: 7946, Meta: Buffer.alloc(0), Incarnation: i, State: i, Vsn: VSN }),
  );
  return Buffer.concat([encodeMessage(MessageType.PushPull, header), ...states, Buffer.from('user')]);
}

/** Corpus: packets and streams in every framing combination. */
function buildCorpus(): { packets: Array<{ packet: Buffer; opts: DecodeOptions }>; streams: Buffer[]; bodies: Buffer[]; lzw: Buffer[] } {
  const keyring = new Keyring([], KEY);
  const messages = sampleMessages();
  const packets: Array<{ packet: Buffer; opts: DecodeOptions }> = [];
  for (const compress of [false, true]) {
    for (const crc of [false, true]) {
      for (const enc of [false, true]) {
        for (const label of [undefined, LABEL]) {
          const opts = { compress, crc, encryptionEnabled: enc, keyring, label };
          const decode: DecodeOptions = { keyring: enc ? keyring : undefined, label, onPartDropped: () => undefined };
          for (const group of [messages, [messages[6]!], messages.slice(0, 3)]) packets.push({ packet: encodePacket(group, opts), opts: decode });
        }
      }
    }
  }
  const pushPull = samplePushPull();
  const streams: Buffer[] = [];
  for (const compress of [false, true]) {
    for (const enc of [false, true]) {
      streams.push(encodeStreamMessage(pushPull, { compress, crc: false, encryptionEnabled: enc, keyring, label: LABEL, dialer: true }));
    }
  }
  return { packets, streams, bodies: messages, lzw: [lzwCompress(pushPull), lzwCompress(Buffer.concat(messages))] };
}

function mutate(rng: Rng, seed: Buffer): Buffer {
  let buf = Buffer.from(seed);
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    const pos = buf.length === 0 ? 0 : rng.int(buf.length);
    switch (rng.int(7)) {
      case 0: // flip a bit
        if (buf.length > 0) buf[pos] ^= 1 << rng.int(8);
        break;
      case 1: // interesting byte
        if (buf.length > 0) buf[pos] = INTERESTING[rng.int(INTERESTING.length)]!;
        break;
      case 2: // truncate
        buf = buf.subarray(0, pos);
        break;
      case 3: // insert random bytes
        buf = Buffer.concat([buf.subarray(0, pos), rng.bytes(1 + rng.int(8)), buf.subarray(pos)]);
        break;
      case 4: // delete a run
        buf = Buffer.concat([buf.subarray(0, pos), buf.subarray(pos + 1 + rng.int(8))]);
        break;
      case 5: // random u16/u32 at pos (lengths, counts)
        if (pos + 4 <= buf.length) buf.writeUInt32BE(rng.next(), pos);
        break;
      default: // duplicate a slice
        buf = Buffer.concat([buf, buf.subarray(pos, pos + rng.int(32))]);
        break;
    }
  }
  return buf;
}

const BODY_KINDS: BodyKind[] = [
  MessageType.Ping,
  MessageType.IndirectPing,
  MessageType.AckResp,
  MessageType.NackResp,
  MessageType.Err,
  MessageType.Suspect,
  MessageType.Alive,
  MessageType.Dead,
  MessageType.PushPull,
  MessageType.User,
  MessageType.Compress,
  'PushNodeState',
];

/** Reads a push/pull (or any message) after openStream, as the engine would. */
async function consumeStream(input: Buffer, opts: DecodeOptions & { expectLabel: boolean }): Promise<void> {
  const stream = await openStream(new BufferStreamReader(input), opts);
  const type = await stream.readByte();
  if (type === MessageType.PushPull) {
    const header = await stream.readBody<PushPullHeader>(MessageType.PushPull);
    if (header.Nodes > 10_000) throw new GossipWireError('TOO_LARGE', 'too many nodes');
    for (let i = 0; i < header.Nodes; i++) await stream.readBody('PushNodeState');
    await stream.readBytes(header.UserStateLen);
  } else if (BODY_KINDS.includes(type)) {
    await stream.readBody(type);
  } else {
    throw new GossipWireError('UNKNOWN_TYPE', `stream type ${type}`);
  }
}

/** Runs `iterations` fuzz inputs from `seed`; never throws for a decoder failure. */
export async function fuzzGossipWire(iterations: number, seed = 1): Promise<FuzzReport> {
  const rng = new Rng(seed);
  const corpus = buildCorpus();
  const keyring = new Keyring([Buffer.alloc(32, 1)], KEY);
  const packetOptions: DecodeOptions[] = [
    { onPartDropped: () => undefined },
    {},
    { keyring, label: LABEL, onPartDropped: () => undefined },
    { keyring, label: LABEL, gossipVerifyIncoming: false },
    { label: LABEL, skipInboundLabelCheck: true },
  ];
  const report: FuzzReport = { inputs: 0, accepted: 0, refused: {}, crashes: [] };

  const record = async (target: string, input: Buffer, run: () => unknown): Promise<void> => {
    report.inputs++;
    try {
      await run();
      report.accepted++;
    } catch (err) {
      if (err instanceof GossipWireError) {
        report.refused[err.code] = (report.refused[err.code] ?? 0) + 1;
      } else if (report.crashes.length < 20) {
        report.crashes.push({ target, input: input.toString('hex'), error: String((err as Error)?.stack ?? err) });
      } else {
        report.crashes.length++;
      }
    }
  };

  const pick = <T>(list: readonly T[]): T => list[rng.int(list.length)]!;
  for (let i = 0; i < iterations; i++) {
    const random = rng.int(4) === 0;
    switch (i % 4) {
      case 0: {
        const seedPacket = pick(corpus.packets);
        const input = random ? rng.bytes(rng.int(300)) : mutate(rng, seedPacket.packet);
        // Mostly the options the seed was made with, so mutations get past the label and key.
        const opts = random || rng.int(4) === 0 ? pick(packetOptions) : seedPacket.opts;
        await record('decodePacket', input, () => {
          for (const m of decodePacket(input, opts)) {
            if (m[0] !== MessageType.User && BODY_KINDS.includes(m[0]!)) decodeBody(m[0] as BodyKind, m.subarray(1));
          }
        });
        break;
      }
      case 1: {
        const input = random ? rng.bytes(rng.int(120)) : mutate(rng, pick(corpus.bodies)).subarray(1);
        const kind = pick(BODY_KINDS);
        await record('decodeBody', input, () => decodeBody(kind, input));
        break;
      }
      case 2: {
        const input = random ? rng.bytes(rng.int(200)) : mutate(rng, pick(corpus.lzw));
        await record('lzwDecompress', input, () => lzwDecompress(input, 1 << 20));
        break;
      }
      default: {
        const input = random ? rng.bytes(rng.int(300)) : mutate(rng, pick(corpus.streams));
        const opts = rng.int(2) === 0 ? { keyring, label: LABEL, expectLabel: true } : { expectLabel: false, label: LABEL };
        await record('openStream', input, () => consumeStream(input, opts));
        break;
      }
    }
  }
  return report;
}

async function main(): Promise<void> {
  const iterations = Number(process.argv[2] ?? 1_000_000);
  const seed = Number(process.argv[3] ?? 1);
  const started = Date.now();
  const report = await fuzzGossipWire(iterations, seed);
  const seconds = (Date.now() - started) / 1000;
  console.log(JSON.stringify({ ...report, crashes: report.crashes.length, seconds, seed }, null, 2));
  for (const c of report.crashes.slice(0, 5)) console.error(`${c.target} ${c.input}\n${c.error}`);
  process.exitCode = report.crashes.length === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
