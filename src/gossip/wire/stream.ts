/**
 * Stream (TCP) framing: one request or answer per direction per connection.
 *
 *   send:    message → compress (always, when on) → encrypt `[10][u32 len][payload]` → label (dialer only)
 *   receive: label (listener) → decrypt → decompress → reader at the message type byte
 *
 * The encryption AAD of a stream is its 5-byte `[10][len]` header followed by
 * the label (memberlist `encryptLocalState` / `decryptRemoteState`), in both
 * directions, although only the dialer writes the label header.
 */
import { compressMessage, decompressValue, MAX_STREAM_BYTES } from './compression.js';
import { decryptPayload, encryptedLength, encryptPayload } from './encryption.js';
import { wireError } from './errors.js';
import { LABEL_MAX_SIZE, labelHeader } from './label.js';
import { MessageType, type Compress } from './message-types.js';
import { acceptLabel, encryptsOutgoing, type DecodeOptions, type PacketOptions } from './packet.js';
import { BufferStreamReader, type StreamReader } from './stream-reader.js';

/** Options of {@link encodeStreamMessage}: packet options plus which side we are. */
export interface StreamEncodeOptions extends PacketOptions {
  /** True on the side that opened the connection: only it writes the label header. */
  dialer?: boolean;
}

/**
 * Frames one stream message (`[type][body…]`, e.g. a push/pull header with
 * its states and user state) for writing to a connection. `opts.crc` does not
 * apply to streams.
 */
export function encodeStreamMessage(message: Buffer, opts: StreamEncodeOptions): Buffer {
  let out = opts.compress ? compressMessage(message) : message;
  const label = opts.label ?? '';
  if (encryptsOutgoing(opts)) {
    const vsn = opts.encryptionVersion ?? 1;
    const header = Buffer.allocUnsafe(5);
    header[0] = MessageType.Encrypt;
    header.writeUInt32BE(encryptedLength(vsn, out.length), 1);
    const aad = Buffer.concat([header, Buffer.from(label, 'utf8')]);
    out = Buffer.concat([header, encryptPayload(vsn, opts.keyring!.primaryKey()!, out, aad)]);
  }
  return opts.dialer && label ? Buffer.concat([labelHeader(label), out]) : out;
}

/** Options of {@link openStream}. */
export interface OpenStreamOptions extends DecodeOptions {
  /** True on the listening side: a label header may open the stream and is checked. */
  expectLabel: boolean;
}

/** Reads the label header at the start of a stream, if any ('' when none). */
async function readStreamLabel(reader: StreamReader): Promise<string> {
  if ((await reader.peekByte()) !== MessageType.HasLabel) return '';
  await reader.readByte();
  const size = await reader.readByte();
  if (size < 1 || size > LABEL_MAX_SIZE) wireError('BAD_LABEL', 'label header cannot be empty when present');
  return (await reader.readBytes(size)).toString('utf8');
}

/**
 * Consumes the label, encryption and compression wrappers at the start of a
 * stream and returns a reader positioned at the message type byte. Rejects
 * with GossipWireError: BAD_LABEL, NOT_ENCRYPTED (plaintext while
 * verify-incoming), DECRYPT_FAILED (also encrypted input without keys),
 * TOO_LARGE (over 20 MiB), TRUNCATED, TIMEOUT, BAD_COMPRESSION, UNKNOWN_TYPE.
 */
export async function openStream(reader: StreamReader, opts: OpenStreamOptions): Promise<StreamReader> {
  // The dialer reads answers on a stream it labelled itself: the AAD still
  // carries our label, but no header precedes the answer.
  const label = opts.expectLabel ? acceptLabel(await readStreamLabel(reader), opts) : (opts.label ?? '');
  let current: StreamReader = reader;
  let type = await current.peekByte();
  const keys = opts.keyring?.keys() ?? [];
  if (type === MessageType.Encrypt) {
    if (keys.length === 0) wireError('DECRYPT_FAILED', 'remote stream is encrypted and encryption is not configured');
    const header = await current.readBytes(5);
    const size = header.readUInt32BE(1);
    if (size > MAX_STREAM_BYTES) wireError('TOO_LARGE', `remote stream state is larger than the limit (${size})`);
    const payload = await current.readBytes(size);
    const aad = Buffer.concat([header, Buffer.from(label, 'utf8')]);
    current = new BufferStreamReader(decryptPayload(keys, payload, aad));
    type = await current.peekByte();
  } else if (keys.length > 0 && opts.gossipVerifyIncoming !== false) {
    wireError('NOT_ENCRYPTED', 'encryption is configured but the remote stream is not encrypted');
  }
  if (type === MessageType.Compress) {
    await current.readByte();
    const body = await current.readBody<Compress>(MessageType.Compress);
    current = new BufferStreamReader(decompressValue(body, MAX_STREAM_BYTES));
  }
  return current;
}
