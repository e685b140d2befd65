/**
 * A raw IP socket for one protocol (ESP, 50) with a receive loop, over the
 * addon's rawOpen/rawRecv/rawSend (native/binding/binding_raw.cc): what node:dgram
 * cannot do. Each receive waits on the libuv pool like a TAP read; close()
 * shuts the socket down so the pending receive returns, then closes it.
 */
import fs from 'node:fs';
import { loadAddon } from './addon.js';

/** The addon's raw-socket functions (declared here, not in addon.ts). */
interface RawAddon {
  rawOpen(family: 4 | 6, protocol: number, bindAddress: string): number;
  rawRecv(fd: number, buffer: Buffer, callback: (err: NodeJS.ErrnoException | null, length: number, source: string) => void): void;
  rawSend(fd: number, buffer: Buffer, address: string): number;
  rawShutdown(fd: number): void;
}

/** Largest packet a receive takes (an IPv4 datagram at most). */
const RAW_READ_SIZE = 65536;

/** Errors of {@link RawSocket}. */
export class RawSocketError extends Error {
  readonly code = 'RAW_UNAVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'RawSocketError';
  }
}

/** One open raw socket and its receive loop. */
export class RawSocket {
  private open = true;
  private readonly buffer = Buffer.allocUnsafe(RAW_READ_SIZE);
  private loopEnded!: () => void;
  private readonly ended = new Promise<void>((resolve) => (this.loopEnded = resolve));

  private constructor(
    private readonly addon: RawAddon,
    readonly fd: number,
    private readonly onPacket: (packet: Buffer, source: string) => void,
  ) {
    this.receive();
  }

  /**
   * Opens a raw socket for `protocol` bound to `bindAddress` and starts
   * handing each packet (after the IP header) to `onPacket`. The buffer
   * passed is reused: `onPacket` must finish with it before returning.
   * @throws RawSocketError when the addon lacks raw sockets; the errno error of socket()/bind() otherwise
   */
  static open(family: 4 | 6, protocol: number, bindAddress: string, onPacket: (packet: Buffer, source: string) => void): RawSocket {
    const addon = loadAddon() as unknown as Partial<RawAddon>;
    if (typeof addon.rawOpen !== 'function' || typeof addon.rawRecv !== 'function') {
      throw new RawSocketError('the native addon has no raw sockets (rebuild it: npm run build:native)');
    }
    const full = addon as RawAddon;
    return new RawSocket(full, full.rawOpen(family, protocol, bindAddress), onPacket);
  }

  /** Sends `packet` as the payload of one IP packet to `address`; false when the kernel refused it. */
  send(packet: Buffer, address: string): boolean {
    if (!this.open) return false;
    try {
      this.addon.rawSend(this.fd, packet, address);
      return true;
    } catch {
      return false;
    }
  }

  /** Ends the receive loop and closes the socket; resolves once both are done. */
  async close(): Promise<void> {
    if (this.open) {
      this.open = false;
      this.addon.rawShutdown(this.fd);
    }
    await this.ended;
  }

  private receive(): void {
    this.addon.rawRecv(this.fd, this.buffer, (err, length, source) => {
      if (!this.open || err !== null) {
        // An error other than EINTR/EAGAIN means the socket is gone: stop like close().
        this.open = false;
        fs.close(this.fd, () => this.loopEnded());
        return;
      }
      if (length > 0) this.onPacket(this.buffer.subarray(0, length), source);
      this.receive();
    });
  }
}
