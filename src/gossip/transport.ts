/**
 * The transport seam between the gossip engine and the network, after
 * memberlist's `Transport` interface: unreliable packets (UDP) for probes and
 * gossip, reliable streams (TCP) for push/pull, TCP pings and large user
 * messages. {@link NetTransport} is the real one, {@link MockNetwork} the
 * in-memory one for tests and benchmarks.
 */
import type { Duplex } from 'node:stream';
import { isIPv6 } from 'node:net';

/** A received datagram. */
export interface InboundPacket {
  /** The bytes, exactly as received. */
  buf: Buffer;
  /** Sender as `host:port` (`[v6]:port` for IPv6). */
  from: string;
  /** Clock time of arrival, in the engine clock's milliseconds. */
  timestamp: number;
}

/** The address and port other nodes should use to reach us. */
export interface AdvertiseAddress {
  ip: string;
  port: number;
}

/** A reliable byte stream to or from a peer; one exchange per stream. */
export type StreamConn = Duplex;

/** Moves memberlist's packets and streams. Implementations never throw out of their receive paths. */
export interface Transport {
  /** Resolves the address to advertise: the configured one, or the bound address (never 0.0.0.0). */
  finalAdvertiseAddr(ip: string | undefined, port: number | undefined): AdvertiseAddress;
  /** Sends one datagram to `addr` (`host:port`); failures are reported by the returned promise. */
  writeTo(buf: Buffer, addr: string): Promise<void>;
  /** Registers the one packet handler; called for every datagram received. */
  onPacket(handler: (packet: InboundPacket) => void): void;
  /** Opens a stream to `addr`; rejects when it cannot connect within `timeoutMs`. */
  dialTimeout(addr: string, timeoutMs: number): Promise<StreamConn>;
  /** Registers the one stream handler; called for every accepted stream. */
  onStream(handler: (conn: StreamConn) => void): void;
  /** Stops listening and releases sockets. */
  shutdown(): Promise<void>;
}

/** Formats `host:port`, bracketing IPv6 hosts. */
export function joinHostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Splits `host:port` / `[v6]:port`; returns undefined when there is no valid port. */
export function splitHostPort(addr: string): { host: string; port: number } | undefined {
  let host: string;
  let portText: string;
  if (addr.startsWith('[')) {
    const close = addr.indexOf(']');
    if (close < 0 || addr[close + 1] !== ':') return undefined;
    host = addr.slice(1, close);
    portText = addr.slice(close + 2);
  } else {
    const colon = addr.lastIndexOf(':');
    if (colon < 0 || addr.indexOf(':') !== colon) return undefined;
    host = addr.slice(0, colon);
    portText = addr.slice(colon + 1);
  }
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  return port <= 65535 ? { host, port } : undefined;
}

/** Adds `defaultPort` to an address that has none (`10.0.0.1` → `10.0.0.1:7946`, `::1` → `[::1]:7946`). */
export function ensurePort(addr: string, defaultPort: number): string {
  if (splitHostPort(addr)) return addr;
  const host = addr.startsWith('[') && addr.endsWith(']') ? addr.slice(1, -1) : addr;
  return joinHostPort(host, defaultPort);
}
