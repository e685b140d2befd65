/**
 * Message bodies: their Go field types, and encoding/decoding them as
 * memberlist does (`encode(msgType, &body)` in util.go: one type byte, then
 * the struct as a msgpack map with its fields in sorted name order).
 *
 * Decoding follows go-msgpack: unknown keys are ignored, missing keys and
 * nil values leave the zero value, any integer form is accepted when it fits
 * the Go type; anything else is a BAD_FIELD.
 */
import { GossipWireError, wireError } from './errors.js';
import { MessageType } from './message-types.js';
import { decodeMsgpack, encodeMsgpackEntries, type MsgpackMap, type MsgpackValue } from './msgpack.js';

/** Go type of one struct field, as far as encoding and checking need it. */
type FieldKind = 'uint8' | 'uint16' | 'uint32' | 'int' | 'bool' | 'bytes' | 'string' | 'state';

interface FieldSpec {
  name: string;
  kind: FieldKind;
  /** `codec:",omitempty"`: left out of the map when zero/empty. */
  omitEmpty?: boolean;
}

/** A body that is not a packet message of its own (pushNodeState follows a push/pull header). */
export type BodyKind = MessageType | 'PushNodeState';

const sourceFields: FieldSpec[] = [
  { name: 'SourceAddr', kind: 'bytes', omitEmpty: true },
  { name: 'SourcePort', kind: 'uint16', omitEmpty: true },
  { name: 'SourceNode', kind: 'string', omitEmpty: true },
];
const accusation: FieldSpec[] = [
  { name: 'Incarnation', kind: 'uint32' },
  { name: 'Node', kind: 'string' },
  { name: 'From', kind: 'string' },
];

/** Struct layouts of memberlist v0.2.2–v0.5 (net.go), fields in Go declaration order. */
const layouts = new Map<BodyKind, FieldSpec[]>([
  [MessageType.Ping, [{ name: 'SeqNo', kind: 'uint32' }, { name: 'Node', kind: 'string' }, ...sourceFields]],
  [
    MessageType.IndirectPing,
    [
      { name: 'SeqNo', kind: 'uint32' },
      { name: 'Target', kind: 'bytes' },
      { name: 'Port', kind: 'uint16' },
      { name: 'Node', kind: 'string' },
      { name: 'Nack', kind: 'bool' },
      ...sourceFields,
    ],
  ],
  [MessageType.AckResp, [{ name: 'SeqNo', kind: 'uint32' }, { name: 'Payload', kind: 'bytes' }]],
  [MessageType.NackResp, [{ name: 'SeqNo', kind: 'uint32' }]],
  [MessageType.Err, [{ name: 'Error', kind: 'string' }]],
  [MessageType.Suspect, accusation],
  [MessageType.Dead, accusation],
  [
    MessageType.Alive,
    [
      { name: 'Incarnation', kind: 'uint32' },
      { name: 'Node', kind: 'string' },
      { name: 'Addr', kind: 'bytes' },
      { name: 'Port', kind: 'uint16' },
      { name: 'Meta', kind: 'bytes' },
      { name: 'Vsn', kind: 'bytes' },
    ],
  ],
  [
    MessageType.PushPull,
    [
      { name: 'Nodes', kind: 'int' },
      { name: 'UserStateLen', kind: 'int' },
      { name: 'Join', kind: 'bool' },
    ],
  ],
  [
    'PushNodeState',
    [
      { name: 'Name', kind: 'string' },
      { name: 'Addr', kind: 'bytes' },
      { name: 'Port', kind: 'uint16' },
      { name: 'Meta', kind: 'bytes' },
      { name: 'Incarnation', kind: 'uint32' },
      { name: 'State', kind: 'state' },
      { name: 'Vsn', kind: 'bytes' },
    ],
  ],
  [MessageType.User, [{ name: 'UserMsgLen', kind: 'int' }]],
  [MessageType.Compress, [{ name: 'Algo', kind: 'uint8' }, { name: 'Buf', kind: 'bytes' }]],
]);

/** go-msgpack writes struct fields sorted by name: precompute that order once. */
const encodeOrder = new Map<BodyKind, FieldSpec[]>(
  [...layouts].map(([kind, fields]) => [kind, [...fields].sort((a, b) => (a.name < b.name ? -1 : 1))]),
);

const EMPTY = Buffer.alloc(0);

function layoutOf(kind: BodyKind, order: Map<BodyKind, FieldSpec[]>): FieldSpec[] {
  const fields = order.get(kind);
  if (!fields) wireError('UNKNOWN_TYPE', `no body layout for message type ${String(kind)}`);
  return fields;
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === 0 || v === '' || v === false || (v instanceof Uint8Array && v.length === 0);
}

function encodeField(spec: FieldSpec, v: unknown): unknown {
  switch (spec.kind) {
    case 'bytes':
      // A Go nil slice is written as nil; we cannot tell nil from empty, and
      // memberlist leaves these fields nil when empty.
      if (v === undefined || v === null || (v instanceof Uint8Array && v.length === 0)) return null;
      if (!(v instanceof Uint8Array)) throw new TypeError(`${spec.name}: expected a Buffer`);
      return v;
    case 'string':
      if (v === undefined || v === null) return '';
      if (typeof v !== 'string') throw new TypeError(`${spec.name}: expected a string`);
      return v;
    case 'bool':
      return v === true;
    default:
      if (v === undefined || v === null) return 0;
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${spec.name}: expected an integer`);
      return v;
  }
}

/**
 * Encodes a body without the type byte: the msgpack map go-msgpack writes
 * for the Go struct of `kind` (sorted field names, omitempty honoured).
 */
export function encodeBody(kind: BodyKind, body: object): Buffer {
  const record = body as Record<string, unknown>;
  const entries: Array<readonly [string, unknown]> = [];
  for (const spec of layoutOf(kind, encodeOrder)) {
    const v = record[spec.name];
    if (spec.omitEmpty && isEmpty(v)) continue;
    entries.push([spec.name, encodeField(spec, v)]);
  }
  return encodeMsgpackEntries(entries);
}

/**
 * Encodes one message: `[type][msgpack body]`, byte for byte as memberlist's
 * `encode()`. For `MessageType.User` this is the stream header
 * (`UserMsgLen`); a user message in a packet is `[8]` + raw bytes instead.
 */
export function encodeMessage(type: MessageType, body: object): Buffer {
  const encoded = encodeBody(type, body);
  const out = Buffer.allocUnsafe(encoded.length + 1);
  out[0] = type;
  encoded.copy(out, 1);
  return out;
}

const uintMax: Record<string, number> = { uint8: 0xff, uint16: 0xffff, uint32: 0xffffffff, state: 3, int: Number.MAX_SAFE_INTEGER };

function zeroOf(kind: FieldKind): unknown {
  switch (kind) {
    case 'bytes':
      return EMPTY;
    case 'string':
      return '';
    case 'bool':
      return false;
    default:
      return 0;
  }
}

function checkField(spec: FieldSpec, v: MsgpackValue): unknown {
  if (v === null) return zeroOf(spec.kind);
  switch (spec.kind) {
    case 'bytes':
      if (Buffer.isBuffer(v)) return v;
      // A []byte written as an array of small integers is accepted by Go too.
      if (Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xff)) {
        return Buffer.from(v as number[]);
      }
      break;
    case 'string':
      if (Buffer.isBuffer(v)) return v.toString('utf8');
      break;
    case 'bool':
      if (typeof v === 'boolean') return v;
      break;
    default:
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= uintMax[spec.kind]!) return v;
      break;
  }
  return wireError('BAD_FIELD', `field ${spec.name}: ${describe(v)} does not fit Go ${spec.kind}`);
}

function describe(v: MsgpackValue): string {
  if (Buffer.isBuffer(v)) return `${v.length}-byte string`;
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object' && v !== null) return 'map';
  return `${typeof v} ${String(v)}`;
}

/**
 * Checks an already decoded msgpack value (e.g. from
 * `StreamReader.readMsgpack`) against the Go struct of `kind` and returns the
 * typed body: unknown keys ignored, missing ones zero, wrong types BAD_FIELD.
 */
export function bodyFromValue<T>(kind: BodyKind, value: MsgpackValue): T {
  const fields = layoutOf(kind, layouts);
  const out: Record<string, unknown> = {};
  let map: MsgpackMap | null = null;
  if (value !== null) {
    if (typeof value !== 'object' || Buffer.isBuffer(value) || Array.isArray(value)) {
      wireError('BAD_FIELD', `body of ${String(kind)}: expected a map, got ${describe(value)}`);
    }
    map = value as MsgpackMap;
  }
  for (const spec of fields) {
    const v = map ? map[spec.name] : undefined;
    if (v === undefined) {
      if (!spec.omitEmpty) out[spec.name] = zeroOf(spec.kind);
      continue;
    }
    const checked = checkField(spec, v);
    if (spec.omitEmpty && isEmpty(checked)) continue;
    out[spec.name] = checked;
  }
  return out as T;
}

/**
 * Decodes the msgpack body of a message (the bytes after its type byte) into
 * the typed body of `kind`. Trailing bytes are ignored, as Go does. Throws
 * {@link GossipWireError}: TRUNCATED, BAD_MSGPACK, BAD_FIELD, UNKNOWN_TYPE.
 */
export function decodeBody<T>(kind: BodyKind, body: Buffer): T {
  if (!layouts.has(kind)) wireError('UNKNOWN_TYPE', `no body layout for message type ${String(kind)}`);
  try {
    return bodyFromValue<T>(kind, decodeMsgpack(body));
  } catch (err) {
    if (err instanceof GossipWireError) throw err;
    throw new GossipWireError('BAD_MSGPACK', (err as Error).message);
  }
}
