/**
 * The real transport: one UDP socket for packets and one TCP listener for
 * streams, on the same address and port (memberlist's NetTransport). IPv4 and
 * IPv6: the family follows the bind address ("::" also accepts IPv4 as
 * mapped addresses, reported back as plain IPv4).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import { type Clock, systemClock } from './clock.js';
import { type AdvertiseAddress, type InboundPacket, type StreamConn, type Transport, joinHostPort, splitHostPort } from './transport.js';

/** Where a {@link NetTransport} listens. */
export interface NetTransportOptions {
  /** Address to bind ("0.0.0.0", "::", or one of the host's addresses). */
  bindAddr: string;
  /** Port for UDP and TCP; 0 picks one free for both. */
  bindPort: number;
  /** Clock for packet timestamps; the system clock by default. */
  clock?: Clock;
  /** Receive buffer size of the UDP socket; default 2 MiB (memberlist asks for the same). */
  udpRecvBufferSize?: number;
}

/** Error of the net transport, with errno-like codes. */
export class NetTransportError extends Error {
  readonly code: 'EADDRINUSE' | 'ETIMEDOUT' | 'EINVAL' | 'ESHUTDOWN' | 'ECONNREFUSED' | 'EBIND';
  constructor(code: NetTransportError['code'], message: string) {
    super(message);
    this.name = 'NetTransportError';
    this.code = code;
  }
}

/** UDP + TCP transport over the host's network stack. */
export class NetTransport implements Transport {
  private packetHandler: ((p: InboundPacket) => void) | undefined;
  private streamHandler: ((c: StreamConn) => void) | undefined;
  private closed = false;
  private readonly open = new Set<net.Socket>();

  private constructor(
    private readonly udp: dgram.Socket,
    private readonly tcp: net.Server,
    /** The bound address. */
    readonly bindAddr: string,
    /** The bound port (UDP and TCP). */
    readonly port: number,
    private readonly clock: Clock,
  ) {
    udp.on('message', (buf, rinfo) => {
      if (this.closed) return;
      this.packetHandler?.({ buf, from: joinHostPort(unmap(rinfo.address), rinfo.port), timestamp: this.clock.now() });
    });
    udp.on('error', () => undefined);
    tcp.on('connection', (sock) => {
      if (this.closed || !this.streamHandler) {
        sock.destroy();
        return;
      }
      this.track(sock);
      sock.setNoDelay(true);
      this.streamHandler(sock);
    });
    tcp.on('error', () => undefined);
  }

  /**
   * Binds TCP then UDP on the same port. With port 0 it retries a few times in
   * case the port TCP got is taken for UDP.
   */
  static async listen(options: NetTransportOptions): Promise<NetTransport> {
    const family = net.isIPv6(options.bindAddr) ? 6 : 4;
    if (!net.isIP(options.bindAddr)) throw new NetTransportError('EINVAL', `bind address ${options.bindAddr} is not an IP address`);
    const attempts = options.bindPort === 0 ? 10 : 1;
    let lastErr: unknown;
    for (let i = 0; i < attempts; i++) {
      const tcp = net.createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen({ host: options.bindAddr, port: options.bindPort, exclusive: true }, () => resolve());
        });
      } catch (err) {
        lastErr = err;
        continue;
      }
      const port = (tcp.address() as net.AddressInfo).port;
      const udp = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', recvBufferSize: options.udpRecvBufferSize ?? 2 * 1024 * 1024 });
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind({ address: options.bindAddr, port, exclusive: true }, () => resolve());
        });
      } catch (err) {
        lastErr = err;
        tcp.close();
        try { udp.close(); } catch { /* already closed */ }
        continue;
      }
      return new NetTransport(udp, tcp, options.bindAddr, port, options.clock ?? systemClock);
    }
    const code = (lastErr as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE' ? 'EADDRINUSE' : 'EBIND';
    throw new NetTransportError(code, `cannot bind ${options.bindAddr}:${options.bindPort}: ${(lastErr as Error)?.message ?? 'unknown error'}`);
  }

  finalAdvertiseAddr(ip: string | undefined, port: number | undefined): AdvertiseAddress {
    if (ip) return { ip, port: port ?? this.port };
    if (this.bindAddr !== '0.0.0.0' && this.bindAddr !== '::') return { ip: this.bindAddr, port: port ?? this.port };
    return { ip: firstPrivateAddress(this.bindAddr === '::' ? 6 : 4), port: port ?? this.port };
  }

  writeTo(buf: Buffer, addr: string): Promise<void> {
    if (this.closed) return Promise.reject(new NetTransportError('ESHUTDOWN', 'transport shut down'));
    const hp = splitHostPort(addr);
    if (!hp) return Promise.reject(new NetTransportError('EINVAL', `bad address ${addr}`));
    return new Promise((resolve, reject) => {
      this.udp.send(buf, hp.port, hp.host, (err) => (err ? reject(err) : resolve()));
    });
  }

  onPacket(handler: (packet: InboundPacket) => void): void {
    this.packetHandler = handler;
  }

  dialTimeout(addr: string, timeoutMs: number): Promise<StreamConn> {
    if (this.closed) return Promise.reject(new NetTransportError('ESHUTDOWN', 'transport shut down'));
    const hp = splitHostPort(addr);
    if (!hp) return Promise.reject(new NetTransportError('EINVAL', `bad address ${addr}`));
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: hp.host, port: hp.port });
      const timer = this.clock.setTimer(timeoutMs, () => {
        sock.destroy();
        reject(new NetTransportError('ETIMEDOUT', `dial ${addr} timed out`));
      });
      sock.once('connect', () => {
        timer.cancel();
        sock.setNoDelay(true);
        this.track(sock);
        resolve(sock);
      });
      sock.once('error', (err) => {
        timer.cancel();
        reject(err);
      });
    });
  }

  onStream(handler: (conn: StreamConn) => void): void {
    this.streamHandler = handler;
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.open) s.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
      new Promise<void>((resolve) => { try { this.udp.close(() => resolve()); } catch { resolve(); } }),
    ]);
  }

  private track(sock: net.Socket): void {
    this.open.add(sock);
    sock.once('close', () => this.open.delete(sock));
    sock.on('error', () => undefined);
  }
}

/** `::ffff:1.2.3.4` → `1.2.3.4`. */
function unmap(address: string): string {
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** The first non-internal address of the family (memberlist prefers a private one); loopback as a last resort. */
function firstPrivateAddress(family: 4 | 6): string {
  const all = Object.values(os.networkInterfaces()).flat().filter((a): a is os.NetworkInterfaceInfo => a !== undefined);
  const want = family === 4 ? 'IPv4' : 'IPv6';
  const candidates = all.filter((a) => a.family === want && !a.internal && !(family === 6 && a.address.startsWith('fe80')));
  return candidates[0]?.address ?? (family === 4 ? '127.0.0.1' : '::1');
}
