/**
 * The memberlist wire format: message bodies, msgpack as go-msgpack writes
 * it, packet framing (compound, LZW, CRC, AES-GCM, labels), the keyring and
 * stream readers. Pure codecs: no sockets are opened here, no state is kept
 * beyond the keyring. Boundary between gossip-wire and gossip-engine.
 *
 * API refinements over the first draft (for gossip-engine):
 * - `decodeBody`/`encodeBody`/`bodyFromValue` also take `'PushNodeState'`;
 *   `StreamReader.readBody(kind)` reads and checks a body in one step.
 * - `StreamReader.peekByte()`; `socketReader` returns a reader with `dispose()`.
 * - `encodeStreamMessage(msg, { ...opts, dialer: true })` writes the label header.
 * - `DecodeOptions.onPartDropped` reports bad parts inside a compound while
 *   the good parts are still returned.
 * - `GossipWireError` code `TIMEOUT` (stalled stream).
 * - A user message in a packet is `[8]` + raw bytes (no msgpack); the
 *   `MessageType.User` body (`UserMsgHeader`) is the stream form.
 */
export * from './errors.js';
export * from './message-types.js';
export { encodeMsgpack, decodeMsgpack, decodeMsgpackAt, type MsgpackMap, type MsgpackValue } from './msgpack.js';
export { encodeMessage, encodeBody, decodeBody, bodyFromValue, type BodyKind } from './messages.js';
export { Keyring, KeyringError, validateKey, type KeyringErrorCode } from './keyring.js';
export { encryptPayload, decryptPayload, encryptedLength, encryptOverhead, type EncryptionVersion } from './encryption.js';
export { lzwCompress, lzwDecompress } from './lzw.js';
export { compressMessage, decompressBody, MAX_PACKET_DECOMPRESSED, MAX_STREAM_BYTES } from './compression.js';
export { addCrc, stripCrc, CRC_HEADER_SIZE } from './crc.js';
export { labelHeader, removeLabelHeader, LABEL_MAX_SIZE } from './label.js';
export { makeCompound, encodeCompound, decodeCompound, MAX_COMPOUND_PARTS } from './compound.js';
export { encodePacket, decodePacket, encryptsOutgoing, type PacketOptions, type DecodeOptions } from './packet.js';
export { BufferStreamReader, socketReader, type StreamReader, type SocketStreamReader, type StreamLimits } from './stream-reader.js';
export { encodeStreamMessage, openStream, type StreamEncodeOptions, type OpenStreamOptions } from './stream.js';
