/**
 * Labels (memberlist ≥ 0.3): `[244][length 1..255][label bytes]` in front of
 * every packet, and at the start of a stream by the dialer. A cluster with a
 * label ignores traffic with another label or none; the label is also the
 * additional data of the encryption. memberlist 0.2.2 knows no labels.
 */
import { wireError } from './errors.js';
import { MessageType } from './message-types.js';

/** Longest label memberlist accepts (`LabelMaxSize`). */
export const LABEL_MAX_SIZE = 255;

/** Bytes of the label header for `label` (empty buffer for no label). */
export function labelHeader(label: string | undefined): Buffer {
  if (!label) return Buffer.alloc(0);
  const bytes = Buffer.from(label, 'utf8');
  if (bytes.length > LABEL_MAX_SIZE) throw new RangeError(`label is ${bytes.length} bytes, at most ${LABEL_MAX_SIZE}`);
  const out = Buffer.allocUnsafe(2 + bytes.length);
  out[0] = MessageType.HasLabel;
  out[1] = bytes.length;
  bytes.copy(out, 2);
  return out;
}

/**
 * Splits a leading label header off a packet: returns the label ('' when
 * none) and the rest. Throws BAD_LABEL for an empty or truncated header.
 */
export function removeLabelHeader(packet: Buffer): { label: string; rest: Buffer } {
  if (packet.length === 0 || packet[0] !== MessageType.HasLabel) return { label: '', rest: packet };
  if (packet.length < 2) wireError('BAD_LABEL', 'label header truncated');
  const size = packet[1]!;
  if (size < 1) wireError('BAD_LABEL', 'label header cannot be empty when present');
  if (packet.length < 2 + size) wireError('BAD_LABEL', 'label header truncated');
  return { label: packet.subarray(2, 2 + size).toString('utf8'), rest: packet.subarray(2 + size) };
}
