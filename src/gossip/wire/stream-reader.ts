/**
 * Readers for stream (TCP) exchanges: one over a Buffer, one over a socket
 * with a byte limit and a deadline (memberlist sets one deadline, TCPTimeout,
 * for the whole exchange). A stalled peer ends in a TIMEOUT error, never a
 * hung read; too many bytes in TOO_LARGE; an early close in TRUNCATED.
 */
import type { Readable } from 'node:stream';
import { GossipWireError, wireError } from './errors.js';
import { decodeMsgpackAt, type MsgpackValue } from './msgpack.js';
import { bodyFromValue, type BodyKind } from './messages.js';

/** Sequential reads from one stream exchange. Every method rejects with {@link GossipWireError}. */
export interface StreamReader {
  /** Reads one byte. */
  readByte(): Promise<number>;
  /** Returns the next byte without consuming it. */
  peekByte(): Promise<number>;
  /** Reads exactly `n` bytes. */
  readBytes(n: number): Promise<Buffer>;
  /** Reads one msgpack value (strings as Buffers). */
  readMsgpack<T = MsgpackValue>(): Promise<T>;
  /** Reads one msgpack value and checks it against the Go struct of `kind` (see `bodyFromValue`). */
  readBody<T>(kind: BodyKind): Promise<T>;
}

/** A {@link StreamReader} over bytes already in memory (a decrypted or decompressed stream). */
export class BufferStreamReader implements StreamReader {
  private pos = 0;
  /** @param buf the whole remaining stream. */
  constructor(private readonly buf: Buffer) {}

  async readByte(): Promise<number> {
    if (this.pos >= this.buf.length) wireError('TRUNCATED', 'stream ended');
    return this.buf[this.pos++]!;
  }

  async peekByte(): Promise<number> {
    if (this.pos >= this.buf.length) wireError('TRUNCATED', 'stream ended');
    return this.buf[this.pos]!;
  }

  async readBytes(n: number): Promise<Buffer> {
    if (this.pos + n > this.buf.length) wireError('TRUNCATED', `stream ended: ${n} bytes wanted`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  async readMsgpack<T = MsgpackValue>(): Promise<T> {
    const { value, end } = decodeMsgpackAt(this.buf, this.pos);
    this.pos = end;
    return value as T;
  }

  async readBody<T>(kind: BodyKind): Promise<T> {
    return bodyFromValue<T>(kind, await this.readMsgpack());
  }
}

/** Limits of a socket exchange. */
export interface StreamLimits {
  /** Most bytes read from the socket in total (memberlist: 20 MiB of state + headers). */
  maxBytes: number;
  /** Deadline for the whole exchange, from the reader's creation (memberlist: TCPTimeout). */
  timeoutMs: number;
}

/** A {@link StreamReader} over a socket; `dispose()` detaches it (the caller closes the socket). */
export interface SocketStreamReader extends StreamReader {
  /** Stops the deadline timer and removes the socket listeners. */
  dispose(): void;
}

interface Waiter {
  /** Bytes buffered that satisfy the waiter. */
  need: number;
  resolve: () => void;
  reject: (err: GossipWireError) => void;
}

/** Reads a socket into an internal buffer and serves sequential reads from it. */
class SocketReader implements SocketStreamReader {
  private buf = Buffer.allocUnsafe(4096);
  private start = 0;
  private end = 0;
  private total = 0;
  private failure: GossipWireError | null = null;
  private ended = false;
  private waiter: Waiter | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly onData = (chunk: Buffer): void => this.append(chunk);
  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake();
  };
  private readonly onError = (err: Error): void => this.fail(new GossipWireError('TRUNCATED', `stream error: ${err.message}`));

  constructor(
    private readonly socket: Readable,
    private readonly limits: StreamLimits,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
    this.timer = setTimeout(() => this.fail(new GossipWireError('TIMEOUT', `stream exchange exceeded ${limits.timeoutMs} ms`)), limits.timeoutMs);
    this.timer.unref();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
  }

  private append(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.total > this.limits.maxBytes) {
      this.socket.pause();
      this.fail(new GossipWireError('TOO_LARGE', `stream exceeds ${this.limits.maxBytes} bytes`));
      return;
    }
    if (this.end + chunk.length > this.buf.length) {
      const live = this.end - this.start;
      let size = this.buf.length;
      while (size < live + chunk.length) size *= 2;
      const next = size === this.buf.length ? this.buf : Buffer.allocUnsafe(size);
      this.buf.copy(next, 0, this.start, this.end);
      this.buf = next;
      this.start = 0;
      this.end = live;
    }
    this.end += chunk.copy(this.buf, this.end);
    this.wake();
  }

  private fail(err: GossipWireError): void {
    if (!this.failure) this.failure = err;
    this.dispose();
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    if (this.end - this.start >= w.need) {
      this.waiter = null;
      w.resolve();
    } else if (this.failure || this.ended) {
      this.waiter = null;
      w.reject(this.failure ?? new GossipWireError('TRUNCATED', 'stream closed early'));
    }
  }

  /** Resolves once `n` bytes are buffered. */
  private fill(n: number): Promise<void> {
    if (this.end - this.start >= n) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.reject(new GossipWireError('TRUNCATED', 'stream closed early'));
    if (n > this.limits.maxBytes) return Promise.reject(new GossipWireError('TOO_LARGE', `${n} bytes exceed the stream limit`));
    return new Promise<void>((resolve, reject) => {
      this.waiter = { need: n, resolve, reject };
    });
  }

  async readByte(): Promise<number> {
    await this.fill(1);
    return this.buf[this.start++]!;
  }

  async peekByte(): Promise<number> {
    await this.fill(1);
    return this.buf[this.start]!;
  }

  async readBytes(n: number): Promise<Buffer> {
    await this.fill(n);
    const out = Buffer.from(this.buf.subarray(this.start, this.start + n));
    this.start += n;
    return out;
  }

  async readMsgpack<T = MsgpackValue>(): Promise<T> {
    for (;;) {
      const available = this.end - this.start;
      try {
        const { value, end } = decodeMsgpackAt(this.buf.subarray(this.start, this.end), 0);
        this.start += end;
        return value as T;
      } catch (err) {
        if (!(err instanceof GossipWireError) || err.code !== 'TRUNCATED') throw err;
      }
      await this.fill(available + 1);
    }
  }

  async readBody<T>(kind: BodyKind): Promise<T> {
    return bodyFromValue<T>(kind, await this.readMsgpack());
  }
}

/**
 * Wraps a connected socket (any Readable: a net.Socket, or an in-memory
 * duplex of the mock network) for one exchange. The deadline counts from
 * now; call `dispose()` when done and close the socket yourself.
 */
export function socketReader(socket: Readable, limits: StreamLimits): SocketStreamReader {
  return new SocketReader(socket, limits);
}
