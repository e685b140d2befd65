/**
 * An in-memory network for deterministic tests and benchmarks, after
 * memberlist's MockNetwork, with the faults SWIM must survive: packet loss,
 * delay with jitter, partitions and killed hosts. Packet delivery runs on the
 * network's {@link Clock}, so a {@link VirtualClock} makes whole clusters run
 * faster than real time. Streams are in-memory duplex pairs.
 */
import { Duplex } from 'node:stream';
import { type Clock, systemClock } from './clock.js';
import { type AdvertiseAddress, type InboundPacket, type StreamConn, type Transport, joinHostPort, splitHostPort } from './transport.js';

/** Fault and timing settings of a {@link MockNetwork}. */
export interface MockNetworkOptions {
  /** Clock that schedules deliveries; default the system clock. */
  clock?: Clock;
  /** Random source for loss and jitter; default `Math.random`. */
  random?: () => number;
  /** Probability in [0, 1] that a datagram is lost. Default 0. */
  loss?: number;
  /** One-way delay of every datagram, in ms. Default 0. */
  delayMs?: number;
  /** Extra uniform random delay in [0, jitterMs). Default 0. */
  jitterMs?: number;
  /** Port every mock host listens on. Default 7946. */
  port?: number;
}

/** Error raised by mock dials, with errno-like codes. */
export class MockNetworkError extends Error {
  /** `ECONNREFUSED` (no listener), `ETIMEDOUT` (partitioned), `ESHUTDOWN` (own transport closed). */
  readonly code: 'ECONNREFUSED' | 'ETIMEDOUT' | 'ESHUTDOWN';
  constructor(code: MockNetworkError['code'], message: string) {
    super(message);
    this.name = 'MockNetworkError';
    this.code = code;
  }
}

/** Counters of one mock host's traffic. */
export interface MockTrafficCounters {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  packetsLost: number;
}

/** The in-memory network: create one transport per node with {@link MockNetwork.createTransport}. */
export class MockNetwork {
  /** Current loss probability (may be changed at any time). */
  loss: number;
  /** Current one-way delay in ms. */
  delayMs: number;
  /** Current jitter in ms. */
  jitterMs: number;
  /** Hosts (IPs) whose datagrams are all lost, in and out, while their streams still work. */
  readonly packetsBlocked = new Set<string>();
  readonly clock: Clock;
  private readonly random: () => number;
  private readonly port: number;
  private readonly hosts = new Map<string, MockTransport>();
  private readonly groupOf = new Map<string, number>();
  private nextHost = 1;

  constructor(options: MockNetworkOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.loss = options.loss ?? 0;
    this.delayMs = options.delayMs ?? 0;
    this.jitterMs = options.jitterMs ?? 0;
    this.port = options.port ?? 7946;
  }

  /** Creates a transport on a new address (198.18.0.0/15 by default) or on `ip` if given. */
  createTransport(ip?: string): MockTransport {
    const host = ip ?? this.allocateIp();
    const addr = joinHostPort(host, this.port);
    if (this.hosts.has(addr)) throw new Error(`mock address ${addr} in use`);
    const t = new MockTransport(this, host, this.port);
    this.hosts.set(addr, t);
    return t;
  }

  /**
   * Splits the network: hosts in different groups cannot reach each other.
   * Hosts not named stay in group 0 with each other.
   */
  partition(...groups: string[][]): void {
    this.groupOf.clear();
    groups.forEach((g, i) => g.forEach((host) => this.groupOf.set(host, i + 1)));
  }

  /** Removes every partition. */
  heal(): void {
    this.groupOf.clear();
  }

  /** True when packets between the two hosts (IPs) can flow. */
  reachable(a: string, b: string): boolean {
    return (this.groupOf.get(a) ?? 0) === (this.groupOf.get(b) ?? 0);
  }

  /** @internal Routes one datagram, applying loss, delay and partitions. */
  route(from: MockTransport, buf: Buffer, to: string): void {
    const dst = this.hosts.get(to);
    from.counters.packetsSent++;
    from.counters.bytesSent += buf.length;
    const blocked = this.packetsBlocked.size > 0 && (this.packetsBlocked.has(from.ip) || (dst !== undefined && this.packetsBlocked.has(dst.ip)));
    if (!dst || dst.closed || blocked || !this.reachable(from.ip, dst.ip) || (this.loss > 0 && this.random() < this.loss)) {
      from.counters.packetsLost++;
      return;
    }
    const delay = this.delayMs + (this.jitterMs > 0 ? this.random() * this.jitterMs : 0);
    const copy = Buffer.from(buf);
    const fromAddr = from.address;
    this.clock.setTimer(delay, () => dst.deliver(copy, fromAddr));
  }

  /** @internal Opens an in-memory stream. */
  dial(from: MockTransport, to: string, timeoutMs: number): Promise<StreamConn> {
    const dst = this.hosts.get(to);
    if (!dst || dst.closed) {
      return Promise.reject(new MockNetworkError('ECONNREFUSED', `connect ECONNREFUSED ${to}`));
    }
    if (!this.reachable(from.ip, dst.ip)) {
      return new Promise((_, reject) => {
        this.clock.setTimer(timeoutMs, () => reject(new MockNetworkError('ETIMEDOUT', `connect ETIMEDOUT ${to}`)));
      });
    }
    const [local, remote] = duplexPair();
    dst.accept(remote);
    return Promise.resolve(local);
  }

  /** @internal Frees an address when its transport shuts down. */
  release(t: MockTransport): void {
    if (this.hosts.get(t.address) === t) this.hosts.delete(t.address);
  }

  private allocateIp(): string {
    const n = this.nextHost++;
    return `198.18.${(n >> 8) & 0xff}.${n & 0xff}`;
  }
}

/** One node's attachment to a {@link MockNetwork}. */
export class MockTransport implements Transport {
  /** Traffic counters of this host. */
  readonly counters: MockTrafficCounters = { packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0, packetsLost: 0 };
  /** `host:port` of this transport. */
  readonly address: string;
  closed = false;
  private packetHandler: ((p: InboundPacket) => void) | undefined;
  private streamHandler: ((c: StreamConn) => void) | undefined;

  constructor(private readonly network: MockNetwork, readonly ip: string, readonly port: number) {
    this.address = joinHostPort(ip, port);
  }

  finalAdvertiseAddr(ip: string | undefined, port: number | undefined): AdvertiseAddress {
    return { ip: ip ?? this.ip, port: port ?? this.port };
  }

  writeTo(buf: Buffer, addr: string): Promise<void> {
    if (this.closed) return Promise.reject(new MockNetworkError('ESHUTDOWN', 'transport shut down'));
    if (!splitHostPort(addr)) return Promise.reject(new Error(`bad address ${addr}`));
    this.network.route(this, buf, addr);
    return Promise.resolve();
  }

  onPacket(handler: (packet: InboundPacket) => void): void {
    this.packetHandler = handler;
  }

  dialTimeout(addr: string, timeoutMs: number): Promise<StreamConn> {
    if (this.closed) return Promise.reject(new MockNetworkError('ESHUTDOWN', 'transport shut down'));
    return this.network.dial(this, addr, timeoutMs);
  }

  onStream(handler: (conn: StreamConn) => void): void {
    this.streamHandler = handler;
  }

  shutdown(): Promise<void> {
    this.closed = true;
    this.network.release(this);
    return Promise.resolve();
  }

  /** @internal */
  deliver(buf: Buffer, from: string): void {
    if (this.closed) return;
    this.counters.packetsReceived++;
    this.counters.bytesReceived += buf.length;
    this.packetHandler?.({ buf, from, timestamp: this.network.clock.now() });
  }

  /** @internal */
  accept(conn: StreamConn): void {
    if (!this.streamHandler) {
      conn.destroy(new MockNetworkError('ECONNREFUSED', 'no stream listener'));
      return;
    }
    this.streamHandler(conn);
  }
}

/** Two connected in-memory duplex streams: what one writes, the other reads. */
export function duplexPair(): [StreamConn, StreamConn] {
  let a: Duplex;
  let b: Duplex;
  const make = (peer: () => Duplex): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        peer().push(chunk);
        cb();
      },
      final(cb) {
        peer().push(null);
        cb();
      },
      destroy(err, cb) {
        const p = peer();
        if (!p.destroyed) p.push(null);
        cb(err);
      },
    });
  a = make(() => b);
  b = make(() => a);
  return [a, b];
}
