/**
 * Fuzzes the gossip wire decoders: decodePacket (plain, keyed, labelled),
 * decodeBody (every body kind), LZW decompression and stream opening/reading,
 * with random inputs and mutations of valid packets and streams.
 *
 * A decoder may accept an input or refuse it with a GossipWireError; any
 * other exception is a bug and is reported with the input in hex.
 *
 *   npx tsx scripts/fuzz-gossip.ts [iterations=1000000] [--seed N=1]
 *
 * The test suite runs a ~20,000-input share of the same core
 * (test/gossip/wire/fuzz.test.ts).
 */
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
import {
  below,
  deleteRun,
  flipBits,
  insertBytes,
  isMain,
  keepFirst,
  makeRng,
  pick,
  randomBytes,
  runFuzzCli,
  setByte,
  tally,
  truncate,
  type Rng,
} from './fuzz/driver.js';

/** Outcome of a fuzz run. */
export interface FuzzReport {
  /** Inputs tried. */
  inputs: number;
  /** Inputs some decoder accepted. */
  accepted: number;
  /** Refusals by GossipWireError code. */
  refused: Record<string, number>;
  /** Inputs that made a decoder throw something other than GossipWireError (bugs). */
  crashed: number;
  /** The first 20 of those, with the input in hex. */
  crashes: Array<{ target: string; input: string; error: string }>;
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
  let buf: Buffer = Buffer.from(seed);
  for (let rounds = 1 + below(rng, 4); rounds > 0; rounds--) {
    switch (below(rng, 7)) {
      case 0:
        buf = flipBits(rng, buf, 1);
        break;
      case 1:
        buf = setByte(rng, buf, INTERESTING);
        break;
      case 2:
        buf = truncate(rng, buf);
        break;
      case 3:
        buf = insertBytes(rng, buf, 8);
        break;
      case 4:
        buf = deleteRun(rng, buf, 8);
        break;
      case 5: { // random u32 at a random place (lengths, counts)
        const pos = below(rng, buf.length);
        if (pos + 4 <= buf.length) buf.writeUInt32BE(rng(), pos);
        break;
      }
      default: { // duplicate a slice at the end
        const pos = below(rng, buf.length);
        buf = Buffer.concat([buf, buf.subarray(pos, pos + below(rng, 32))]);
        break;
      }
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
  const rng = makeRng(seed);
  const corpus = buildCorpus();
  const keyring = new Keyring([Buffer.alloc(32, 1)], KEY);
  const packetOptions: DecodeOptions[] = [
    { onPartDropped: () => undefined },
    {},
    { keyring, label: LABEL, onPartDropped: () => undefined },
    { keyring, label: LABEL, gossipVerifyIncoming: false },
    { label: LABEL, skipInboundLabelCheck: true },
  ];
  const report: FuzzReport = { inputs: 0, accepted: 0, refused: {}, crashed: 0, crashes: [] };

  const record = async (target: string, input: Buffer, run: () => unknown): Promise<void> => {
    report.inputs++;
    try {
      await run();
      report.accepted++;
    } catch (err) {
      if (err instanceof GossipWireError) {
        tally(report.refused, err.code);
      } else {
        report.crashed++;
        keepFirst(report.crashes, { target, input: input.toString('hex'), error: String((err as Error)?.stack ?? err) }, 20);
      }
    }
  };

  for (let i = 0; i < iterations; i++) {
    const random = below(rng, 4) === 0;
    switch (i % 4) {
      case 0: {
        const seedPacket = pick(rng, corpus.packets);
        const input = random ? randomBytes(rng, below(rng, 300)) : mutate(rng, seedPacket.packet);
        // Mostly the options the seed was made with, so mutations get past the label and key.
        const opts = random || below(rng, 4) === 0 ? pick(rng, packetOptions) : seedPacket.opts;
        await record('decodePacket', input, () => {
          for (const m of decodePacket(input, opts)) {
            if (m[0] !== MessageType.User && BODY_KINDS.includes(m[0]!)) decodeBody(m[0] as BodyKind, m.subarray(1));
          }
        });
        break;
      }
      case 1: {
        const input = random ? randomBytes(rng, below(rng, 120)) : mutate(rng, pick(rng, corpus.bodies)).subarray(1);
        const kind = pick(rng, BODY_KINDS);
        await record('decodeBody', input, () => decodeBody(kind, input));
        break;
      }
      case 2: {
        const input = random ? randomBytes(rng, below(rng, 200)) : mutate(rng, pick(rng, corpus.lzw));
        await record('lzwDecompress', input, () => lzwDecompress(input, 1 << 20));
        break;
      }
      default: {
        const input = random ? randomBytes(rng, below(rng, 300)) : mutate(rng, pick(rng, corpus.streams));
        const opts = below(rng, 2) === 0 ? { keyring, label: LABEL, expectLabel: true } : { expectLabel: false, label: LABEL };
        await record('openStream', input, () => consumeStream(input, opts));
        break;
      }
    }
  }
  return report;
}

/** The report as JSON, then the first five crashes with their stacks. */
export function formatReport(r: FuzzReport, seed: number): string {
  const { crashes, ...counts } = r;
  const lines = [JSON.stringify({ ...counts, seed }, null, 2)];
  for (const c of crashes.slice(0, 5)) lines.push(`${c.target} ${c.input}\n${c.error}`);
  return lines.join('\n');
}

if (isMain(import.meta.url)) {
  let seed = 1;
  await runFuzzCli({
    name: 'fuzz-gossip.ts',
    run: (args) => fuzzGossipWire(args.iterations, (seed = args.seed ?? 1)),
    format: (r) => formatReport(r, seed),
    failed: (r) => r.crashed > 0,
  });
}
