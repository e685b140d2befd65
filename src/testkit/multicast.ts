/**
 * Multicast and broadcast traffic from containers, as applications make it:
 * python3 programs with plain sockets — a paced sender (to groups, broadcast
 * or unicast addresses) and a receiver that joins groups (IP_ADD_MEMBERSHIP,
 * IPV6_JOIN_GROUP) or listens for broadcast and counts what arrives by tag.
 * Both bind to the container's interface by index (ip_mreqn,
 * IPV6_MULTICAST_IF, SO_BINDTODEVICE): containers on overlayd have no
 * default route. Used by test/e2e/multicast.test.ts and bench/multicast.ts.
 */
import { nsExec } from './exec.js';
import type { ManagedProcess } from './process.js';
import type { Topology } from './topology.js';

/**
 * Sender: `DSTS PORT IFNAME COUNT PPS MAX_S TAG SIZE`. DSTS is a comma list of
 * destinations of one family (groups, broadcast or unicast addresses); each
 * datagram `TAG SEQ …` (SIZE bytes) goes to every one of them. Sends at most
 * COUNT datagrams paced at PPS, for at most MAX_S seconds; prints one JSON
 * line `{"sent": n, "start": t0, "end": t1}` (wall-clock seconds).
 */
const SENDER = `
import json, socket, struct, sys, time
dsts, port, ifname, count, pps, max_s, tag, size = sys.argv[1].split(','), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), sys.argv[7], int(sys.argv[8])
idx = socket.if_nametoindex(ifname)
if ':' in dsts[0]:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 8)
    addrs = [(d, port, 0, idx) for d in dsts]
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, struct.pack('@4s4si', b'\\0' * 4, b'\\0' * 4, idx))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 8)
    addrs = [(d, port) for d in dsts]
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
t0 = time.time()
sent = 0
while sent < count:
    now = time.time()
    if now - t0 > max_s:
        break
    due = min(count, int((now - t0) * pps) + 1)
    while sent < due:
        head = ('%s %d ' % (tag, sent)).encode()
        data = head + b'.' * max(0, size - len(head))
        for a in addrs:
            try:
                s.sendto(data, a)
            except OSError:
                pass
        sent += 1
    ahead = t0 + sent / pps - time.time()
    if ahead > 0:
        time.sleep(min(ahead, 0.01))
print(json.dumps({'sent': sent, 'start': t0, 'end': time.time()}), flush=True)
`;

/**
 * Receiver: `GROUPS PORT IFNAME MAX_S QUIET_S LEAVE_AFTER`. GROUPS is a comma
 * list of groups to join (empty: none, for broadcast and unicast). Prints
 * `ready` once joined, `left T` (wall clock) when it drops its groups after
 * LEAVE_AFTER datagrams (-1: never), and at the end (after MAX_S, or QUIET_S
 * without a datagram once one came) one JSON line
 * `{"tags": {TAG: count}, "bytes": n, "first": t, "last": t}`.
 */
const RECEIVER = `
import json, select, socket, struct, sys, time
groups = [g for g in sys.argv[1].split(',') if g]
port, ifname, max_s, quiet_s, leave_after = int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
idx = socket.if_nametoindex(ifname)
six = any(':' in g for g in groups)
s = socket.socket(socket.AF_INET6 if six else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(('::' if six else '', port))
def mreq(g):
    if six:
        return socket.IPPROTO_IPV6, socket.inet_pton(socket.AF_INET6, g) + struct.pack('@I', idx)
    return socket.IPPROTO_IP, socket.inet_aton(g) + socket.inet_aton('0.0.0.0') + struct.pack('@i', idx)
for g in groups:
    level, m = mreq(g)
    s.setsockopt(level, socket.IPV6_JOIN_GROUP if six else socket.IP_ADD_MEMBERSHIP, m)
print('ready', flush=True)
tags, first, last, n, size = {}, None, None, 0, 0
end = time.time() + max_s
while time.time() < end:
    wait = quiet_s if last is not None else end - time.time()
    r, _, _ = select.select([s], [], [], max(0.0, min(wait, end - time.time())))
    if not r:
        if last is not None:
            break
        continue
    data = s.recv(65535)
    now = time.time()
    first = first if first is not None else now
    last = now
    tag = data.split(b' ')[0].decode(errors='replace')
    tags[tag] = tags.get(tag, 0) + 1
    n += 1
    size += len(data)
    if n == leave_after:
        for g in groups:
            level, m = mreq(g)
            s.setsockopt(level, socket.IPV6_LEAVE_GROUP if six else socket.IP_DROP_MEMBERSHIP, m)
        print('left %f' % time.time(), flush=True)
print(json.dumps({'tags': tags, 'bytes': size, 'first': first, 'last': last}), flush=True)
`;

/** What a receiver counted: datagrams per tag, payload bytes, wall-clock times (s) of the first and last. */
export interface Received {
  tags: Record<string, number>;
  bytes: number;
  first: number | null;
  last: number | null;
}

/** A receiver running in a container: `ready` once joined, `left` (wall clock, s) when it left, `result` at its end. */
export interface Receiver {
  ready: Promise<unknown>;
  left: Promise<number>;
  result: Promise<Received>;
  process: ManagedProcess;
}

/** Options of {@link startReceiver}. */
export interface ReceiverOptions {
  /** Groups to join (none: broadcast and unicast only). */
  groups?: string[];
  port: number;
  /** Ends after this long at most. */
  maxS: number;
  /** …or this long after the last datagram, once one came (default 3 s). */
  quietS?: number;
  /** Leave the groups after this many datagrams. */
  leaveAfter?: number;
  /** Its interface in the namespace (default eth0). */
  ifname?: string;
}

/** Starts the receiver in namespace `ns`. */
export function startReceiver(topo: Topology, ns: string, o: ReceiverOptions): Receiver {
  const args = [(o.groups ?? []).join(','), o.port, o.ifname ?? 'eth0', o.maxS, o.quietS ?? 3, o.leaveAfter ?? -1].map(String);
  const p = topo.spawn(ns, ['python3', '-c', RECEIVER, ...args]);
  const timeout = (o.maxS + 15) * 1000;
  const left = p.waitForLine(/^left ([\d.]+)$/, timeout).then((m) => Number(m[1]));
  left.catch(() => undefined); // only a receiver told to leave prints it
  return {
    process: p,
    ready: p.waitForLine(/^ready$/, 15_000),
    left,
    result: p.waitForLine(/^\{"tags"/, timeout).then((m) => JSON.parse(m.input!) as Received),
  };
}

/** What the sender did: datagrams sent (each to every destination), wall-clock start and end (s). */
export interface Sent {
  sent: number;
  start: number;
  end: number;
}

/** Options of {@link send}. */
export interface SendOptions {
  /** Datagrams at most (each to every destination). */
  count: number;
  /** Datagrams per second (each to every destination). */
  pps: number;
  /** What the receivers count it under. */
  tag: string;
  /** Seconds at most (default 30). */
  maxS?: number;
  /** Bytes of each datagram (default 80). */
  size?: number;
  ifname?: string;
}

/** Runs the sender in namespace `ns`: datagrams to every one of `dsts` (one family) on `port`. */
export async function send(ns: string, dsts: string[], port: number, o: SendOptions): Promise<Sent> {
  const maxS = o.maxS ?? 30;
  const args = [dsts.join(','), port, o.ifname ?? 'eth0', o.count, o.pps, maxS, o.tag, o.size ?? 80].map(String);
  const r = await nsExec(ns, ['python3', '-c', SENDER, ...args], { timeoutMs: (maxS + 15) * 1000 });
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Sent;
}
