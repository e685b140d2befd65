/**
 * Packets (UDP): the whole framing pipeline, one function each way.
 *
 *   send:    messages → compound (>1) → compress (if smaller) → CRC → encrypt → label
 *   receive: label → decrypt → CRC → compound/compress, recursively → messages
 *
 * This is memberlist's `rawSendMsgPacket` and `ingestPacket` +
 * `handleCommand`, with the label handling of memberlist ≥ 0.3.
 */
import { addCrc, stripCrc } from './crc.js';
import { compressMessage, decompressBody, MAX_PACKET_DECOMPRESSED } from './compression.js';
import { decodeCompound, encodeCompound, MAX_COMPOUND_PARTS } from './compound.js';
import { decryptPayload, encryptPayload, type EncryptionVersion } from './encryption.js';
import { GossipWireError, wireError } from './errors.js';
import type { Keyring } from './keyring.js';
import { labelHeader, removeLabelHeader } from './label.js';
import { MessageType } from './message-types.js';

/** How to frame what we send (packets and streams). */
export interface PacketOptions {
  /** Cluster label; written as a header and used as encryption AAD. Empty/undefined: none. */
  label?: string;
  /** Keys; the primary encrypts. */
  keyring?: Keyring;
  /** Encrypt (needs a keyring with a key). */
  encryptionEnabled: boolean;
  /** When false, send plaintext even with keys (key rollout phase). Default true. */
  gossipVerifyOutgoing?: boolean;
  /** LZW-compress: packets only when it shrinks them, streams always. */
  compress: boolean;
  /** Add a CRC header — only toward nodes speaking protocol ≥ 5. Ignored for streams. */
  crc: boolean;
  /** 1 (no padding, protocol ≥ 2, the default) or 0 (PKCS#7 padded, protocol 1). */
  encryptionVersion?: EncryptionVersion;
}

/** How to accept what we receive (packets and streams). */
export interface DecodeOptions {
  /** Our label: traffic must carry exactly this one (none when empty/undefined). */
  label?: string;
  /** Keys tried, primary first; encryption is on when the ring holds a key. */
  keyring?: Keyring;
  /** When false, input that does not decrypt is taken as plaintext (key rollout). Default true. */
  gossipVerifyIncoming?: boolean;
  /** Accept unlabelled input as if it carried our label (and refuse labelled input). */
  skipInboundLabelCheck?: boolean;
  /**
   * Called for each inner part dropped inside a compound or compressed
   * message (a truncated tail, an empty part, a bad compress body) while the
   * rest of the packet is still delivered. Without it such a part throws.
   */
  onPartDropped?: (error: GossipWireError) => void;
}

/** How deep compound/compress may nest inside one packet. */
const MAX_NESTING = 4;

/** Whether outgoing traffic is encrypted under these options. */
export function encryptsOutgoing(opts: PacketOptions): boolean {
  return opts.encryptionEnabled && opts.keyring?.primaryKey() !== undefined && opts.gossipVerifyOutgoing !== false;
}

/** Adds the label header in front of `payload` (no copy when there is no label). */
function withLabel(label: string | undefined, payload: Buffer): Buffer {
  return label ? Buffer.concat([labelHeader(label), payload]) : payload;
}

/**
 * Frames messages (each `[type][body]`) into one packet: a compound when
 * there are several (at most 255: use `makeCompound` first for more),
 * compressed when that shrinks it, then CRC, encryption and label.
 */
export function encodePacket(messages: readonly Buffer[], opts: PacketOptions): Buffer {
  if (messages.length === 0) throw new RangeError('encodePacket: no messages');
  if (messages.length > MAX_COMPOUND_PARTS) throw new RangeError('encodePacket: more than 255 messages');
  let msg = messages.length === 1 ? messages[0]! : encodeCompound(messages);
  if (opts.compress) {
    const compressed = compressMessage(msg);
    if (compressed.length < msg.length) msg = compressed;
  }
  if (opts.crc) msg = addCrc(msg);
  if (encryptsOutgoing(opts)) {
    const aad = opts.label ? Buffer.from(opts.label, 'utf8') : Buffer.alloc(0);
    msg = encryptPayload(opts.encryptionVersion ?? 1, opts.keyring!.primaryKey()!, msg, aad);
  }
  return withLabel(opts.label, msg);
}

/**
 * Checks the label of incoming traffic against ours (with skip-inbound-check
 * semantics) and returns the label to use as AAD. Throws BAD_LABEL.
 */
export function acceptLabel(received: string, opts: DecodeOptions): string {
  let label = received;
  if (opts.skipInboundLabelCheck) {
    if (label !== '') wireError('BAD_LABEL', 'unexpected label header while skipping the inbound label check');
    label = opts.label ?? '';
  }
  if (label !== (opts.label ?? '')) wireError('BAD_LABEL', `label ${JSON.stringify(label)} is not ours`);
  return label;
}

/** Appends the plain messages inside `buf` to `out`, unwrapping compound and compress. */
function unwrap(buf: Buffer, out: Buffer[], depth: number, opts: DecodeOptions): void {
  if (buf.length === 0) wireError('TRUNCATED', 'empty message');
  if (depth > MAX_NESTING) wireError('TOO_LARGE', 'compound/compress nested too deeply');
  const type = buf[0]!;
  if (type === MessageType.Compound) {
    const { parts, truncated } = decodeCompound(buf.subarray(1));
    if (truncated > 0) dropPart(new GossipWireError('TRUNCATED', `compound: ${truncated} truncated parts`), opts);
    for (const part of parts) {
      try {
        unwrap(part, out, depth + 1, opts);
      } catch (err) {
        if (!(err instanceof GossipWireError)) throw err;
        dropPart(err, opts);
      }
    }
    return;
  }
  if (type === MessageType.Compress) {
    unwrap(decompressBody(buf.subarray(1), MAX_PACKET_DECOMPRESSED), out, depth + 1, opts);
    return;
  }
  out.push(buf);
}

function dropPart(err: GossipWireError, opts: DecodeOptions): void {
  if (!opts.onPartDropped) throw err;
  opts.onPartDropped(err);
}

/**
 * Unframes one packet into its plain messages, each starting with its type
 * byte (never Compound, Compress, HasCrc, Encrypt or HasLabel at top level).
 * Message types are not judged here: `decodeBody` refuses unknown ones.
 * Throws {@link GossipWireError}: BAD_LABEL, DECRYPT_FAILED, BAD_CRC,
 * TRUNCATED, BAD_MSGPACK, BAD_FIELD, UNKNOWN_TYPE, BAD_COMPRESSION, TOO_LARGE.
 */
export function decodePacket(packet: Buffer, opts: DecodeOptions): Buffer[] {
  const { label: received, rest } = removeLabelHeader(packet);
  const label = acceptLabel(received, opts);
  let buf = rest;
  const keys = opts.keyring?.keys();
  if (keys && keys.length > 0) {
    try {
      buf = decryptPayload(keys, buf, Buffer.from(label, 'utf8'));
    } catch (err) {
      // During a key rollout (verify-incoming off) plaintext is accepted.
      if (opts.gossipVerifyIncoming !== false) throw err;
    }
  }
  buf = stripCrc(buf);
  const out: Buffer[] = [];
  unwrap(buf, out, 0, opts);
  return out;
}
