/**
 * The control API: HTTP/JSON on a unix socket. `overlayctl` is a thin client
 * of it, so everything it shows is reachable by scripts too.
 *
 *   GET    /v1/status                      GET    /v1/stats
 *   GET    /v1/networks                    POST   /v1/networks          {name, subnets, vni?, mtu?, encrypted?, esp?, multicast?, multicastRate?}
 *   GET    /v1/networks/:name              DELETE /v1/networks/:name?force=1
 *   POST   /v1/networks/:name/peers {ip, mac, vtep, groups?}   DELETE /v1/networks/:name/peers/:ip
 *   GET    /v1/groups?network=N            multicast groups with a member anywhere, and this host's replication lists
 *   GET    /v1/endpoints?network=N         POST   /v1/endpoints         {network, netns, ips?, ifname?, runtime?, container?}
 *   DELETE /v1/endpoints/:id
 *   POST   /v1/endpoints/movable {network, ips, runtime, container} → {endpoint, ifname, mtu}
 *   GET    /v1/endpoints/movable?runtime=R&container=C            → {endpoint, ifname, mtu}
 *   POST   /v1/networks/:name/reservations {ip?, family?, ttlS?, forever?} → {network, ip}
 *   DELETE /v1/networks/:name/reservations/:ip
 *   GET    /v1/fdb?network=N               GET    /v1/neigh?network=N
 *   GET    /v1/members                     GET    /v1/peers?network=N   data-path health per remote VTEP (peer-health.ts)
 *   POST   /v1/networks/:name/capture {count?, durationS?, outer?, host?, vtep?} → a pcap stream
 *   POST   /v1/networks/:name/rotate-key       GET    /v1/networks/:name/keys?secrets=1 (root only)
 *   POST   /v1/networks/:name/perf {to, seconds?, streams?, reverse?} → throughput, RTT and loss to node `to` (perf/perf.ts)
 *   POST   /v1/identity/reload → status.identity    POST /v1/identity/revocations {revocation} → {revoked, name, fresh}
 *   POST   /v1/trace {network, src, dst, proto?, sport?, dport?, size?, df?, dstMac?, ingress?, vtep?} → a trace report
 *   GET    /v1/doctor                      → checks of this host and its cluster (doctor.ts)
 *   GET    /v1/events?type=&network=&reason=&limit=     GET /v1/events?follow=1&… → NDJSON stream (events-api.ts)
 *
 * Every route calls one of the AgentOperations (operations.ts). The movable
 * endpoints and address reservations are what Docker's plugin
 * (src/docker-plugin/) needs: an address held between Docker's IPAM call and
 * its CreateEndpoint, and a veth Docker moves into the container itself.
 *
 * Errors: `{ "error": { "code": "...", "message": "..." } }` with a 4xx/5xx status.
 */
import type http from 'node:http';
import { closeServer, listenUnix, readJsonObject, sendJson } from '../unix-http/server.js';
import { ATTACH_RUNTIMES } from '../cluster/entries.js';
import { OverlayError } from '../cluster/errors.js';
import type { AgentOperations, NetworkCreateRequest } from './operations.js';
import { peerUid } from './peer-cred.js';
import { TRACE_PROTOCOLS } from './trace-frame.js';
import { EventStreams, parseEventsQuery } from './events-api.js';


type Params = Record<string, string>;
type Handler = (params: Params, query: URLSearchParams, body: Record<string, unknown>) => Promise<unknown> | unknown;

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

/** The longest a reservation may be held by time (a day); `forever` holds it until released. */
const MAX_RESERVATION_S = 86_400;

const STATUS: Record<string, number> = {
  BAD_REQUEST: 400,
  NETNS_NOT_FOUND: 400,
  IP_OUTSIDE_SUBNET: 400,
  UNSUPPORTED: 400,
  FORBIDDEN: 403,
  LINK_EXISTS: 409,
  NETWORK_NOT_FOUND: 404,
  ENDPOINT_NOT_FOUND: 404,
  PEER_NOT_FOUND: 404,
  NOT_FOUND: 404,
  NETWORK_EXISTS: 409,
  NETWORK_IN_USE: 409,
  SUBNET_OVERLAP: 409,
  VNI_TAKEN: 409,
  IP_IN_USE: 409,
  MAC_CONFLICT: 409,
  SUBNET_FULL: 409,
  NODE_NOT_FOUND: 404,
  NODE_DOWN: 409,
  NO_AGENT: 409,
  PERF_BUSY: 409,
  UNREACHABLE: 502,
  TIMEOUT: 504,
};


export class ControlApi {
  private readonly routes: Route[] = [];
  private server?: http.Server;
  private readonly eventStreams: EventStreams;

  constructor(private readonly agent: AgentOperations) {
    const a = agent;
    this.eventStreams = new EventStreams(agent.events);
    this.route('GET', '/v1/events', (_p, q) => this.eventStreams.recent(parseEventsQuery(q)));
    this.route('GET', '/v1/status', () => a.status());
    this.route('GET', '/v1/stats', () => a.counters());
    this.route('GET', '/v1/networks', () => a.networks());
    this.route('POST', '/v1/networks', (_p, _q, b) =>
      a.createNetwork({
        name: str(b, 'name'),
        subnets: strList(b, 'subnets'),
        vni: optInt(b, 'vni'),
        mtu: optInt(b, 'mtu'),
        encrypted: b.encrypted === true,
        esp: espOptions(b.esp),
        multicast: optBool(b, 'multicast'),
        multicastRate: optInt(b, 'multicastRate'),
      }),
    );
    this.route('POST', '/v1/networks/:name/rotate-key', (p) => a.rotateKey(p.name));
    this.route('GET', '/v1/networks/:name', (p) => a.network(p.name));
    this.route('DELETE', '/v1/networks/:name', async (p, q) => {
      await a.removeNetwork(p.name, q.get('force') === '1' || q.get('force') === 'true');
      return { removed: p.name };
    });
    this.route('POST', '/v1/networks/:name/peers', (p, _q, b) =>
      a.addPeer({ network: p.name, ip: str(b, 'ip'), mac: str(b, 'mac'), vtep: str(b, 'vtep'), groups: b.groups === undefined ? undefined : strList(b, 'groups') }),
    );
    this.route('DELETE', '/v1/networks/:name/peers/:ip', (p) => a.removePeer(p.name, p.ip));
    this.route('GET', '/v1/endpoints', (_p, q) => a.endpoints(q.get('network') ?? undefined));
    this.route('POST', '/v1/endpoints', (_p, _q, b) =>
      a.attachEndpoint({
        network: str(b, 'network'),
        netns: str(b, 'netns'),
        ips: b.ips === undefined ? undefined : strList(b, 'ips'),
        ifname: b.ifname === undefined ? undefined : str(b, 'ifname'),
        runtime: b.runtime === undefined ? undefined : oneOf(b, 'runtime', ATTACH_RUNTIMES),
        container: b.container === undefined ? undefined : str(b, 'container'),
      }),
    );
    this.route('POST', '/v1/endpoints/movable', (_p, _q, b) =>
      a.attachMovableEndpoint({
        network: str(b, 'network'),
        ips: strList(b, 'ips'),
        runtime: oneOf(b, 'runtime', ATTACH_RUNTIMES),
        container: str(b, 'container'),
      }),
    );
    this.route('GET', '/v1/endpoints/movable', (_p, q) => {
      const b = Object.fromEntries(q);
      return a.movableEndpoint(oneOf(b, 'runtime', ATTACH_RUNTIMES), str(b, 'container'));
    });
    this.route('DELETE', '/v1/endpoints/:id', (p) => a.detachEndpoint(p.id));
    this.route('POST', '/v1/networks/:name/reservations', async (p, _q, b) => {
      const family = optInt(b, 'family') ?? 4;
      if (family !== 4 && family !== 6) throw new OverlayError('BAD_REQUEST', '"family" must be 4 or 6');
      if (b.forever !== undefined && typeof b.forever !== 'boolean') throw new OverlayError('BAD_REQUEST', '"forever" must be true or false');
      const ttlS = optInt(b, 'ttlS');
      if (ttlS !== undefined && (ttlS < 1 || ttlS > MAX_RESERVATION_S)) throw new OverlayError('BAD_REQUEST', `"ttlS" must be 1..${MAX_RESERVATION_S}`);
      if (ttlS !== undefined && b.forever === true) throw new OverlayError('BAD_REQUEST', 'give "ttlS" or "forever", not both');
      const ip = b.ip === undefined ? undefined : str(b, 'ip');
      const ttlMs = b.forever === true ? Infinity : ttlS === undefined ? undefined : ttlS * 1000;
      return { network: p.name, ip: await a.reserveAddress(p.name, ip, family, ttlMs) };
    });
    this.route('DELETE', '/v1/networks/:name/reservations/:ip', async (p) => {
      await a.releaseAddress(p.name, p.ip);
      return { released: p.ip };
    });
    this.route('GET', '/v1/fdb', (_p, q) => a.fdbRows(q.get('network') ?? undefined));
    this.route('GET', '/v1/neigh', (_p, q) => a.neighRows(q.get('network') ?? undefined));
    this.route('GET', '/v1/groups', (_p, q) => a.groupRows(q.get('network') ?? undefined));
    this.route('GET', '/v1/members', () => a.members());
    this.route('GET', '/v1/doctor', () => a.doctor());
    this.route('GET', '/v1/peers', (_p, q) => a.peers(q.get('network') ?? undefined));
    this.route('POST', '/v1/networks/:name/perf', (p, _q, b) =>
      a.perf({ network: p.name, to: str(b, 'to'), seconds: optInt(b, 'seconds'), streams: optInt(b, 'streams'), reverse: b.reverse === true }),
    );
    this.route('POST', '/v1/identity/reload', () => a.reloadCertificate());
    this.route('POST', '/v1/identity/revocations', (_p, _q, b) => a.publishRevocation(b.revocation));
    this.route('POST', '/v1/trace', (_p, _q, b) =>
      a.trace({
        network: str(b, 'network'),
        src: str(b, 'src'),
        dst: str(b, 'dst'),
        proto: b.proto === undefined ? undefined : oneOf(b, 'proto', TRACE_PROTOCOLS),
        sport: optInt(b, 'sport'),
        dport: optInt(b, 'dport'),
        size: optInt(b, 'size'),
        df: optBool(b, 'df'),
        dstMac: b.dstMac === undefined ? undefined : str(b, 'dstMac'),
        ingress: optBool(b, 'ingress'),
        vtep: b.vtep === undefined ? undefined : str(b, 'vtep'),
      }),
    );
  }

  async listen(socketPath: string): Promise<void> {
    this.server = await listenUnix(socketPath, (req, res) => void this.handle(req, res));
  }

  close(): Promise<void> {
    this.eventStreams.closeAll();
    return closeServer(this.server);
  }


  private route(method: string, path: string, handler: Handler): void {
    const keys: string[] = [];
    const pattern = new RegExp(
      '^' +
        path.replace(/:(\w+)/g, (_m, k: string) => {
          keys.push(k);
          return '([^/]+)';
        }) +
        '$',
    );
    this.routes.push({ method, pattern, keys, handler });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://overlayd');
    try {
      const capture = /^\/v1\/networks\/([^/]+)\/capture$/.exec(url.pathname);
      if (capture && req.method === 'POST') return this.capture(decodeURIComponent(capture[1]), await readJson(req), req, res);
      const keys = /^\/v1\/networks\/([^/]+)\/keys$/.exec(url.pathname);
      if (keys && req.method === 'GET') {
        const secrets = url.searchParams.get('secrets') === '1';
        if (secrets && peerUid(req.socket) !== 0) throw new OverlayError('FORBIDDEN', 'only root may see the keys (--show-secrets)');
        return send(res, 200, this.agent.keys(decodeURIComponent(keys[1]), secrets));
      }
      if (url.pathname === '/v1/events' && req.method === 'GET' && url.searchParams.has('follow')) {
        const query = parseEventsQuery(url.searchParams);
        if (query.follow) return this.eventStreams.follow(query, req, res);
      }
      const match = this.match(req.method ?? 'GET', url.pathname);
      if (!match) throw new OverlayError('BAD_REQUEST', `no such API call: ${req.method} ${url.pathname}`);
      const body = req.method === 'POST' ? await readJson(req) : {};
      const result = await match.route.handler(match.params, url.searchParams, body);
      send(res, 200, result ?? {});
    } catch (err) {
      const e = err as Error & { code?: string };
      const code = typeof e.code === 'string' ? e.code : 'INTERNAL';
      const status = STATUS[code] ?? 500;
      if (status === 500) this.agent.log.error({ err: e, path: url.pathname }, 'control API call failed');
      send(res, status, { error: { code, message: e.message } });
    }
  }

  /** Streams pcap until the capture ends or the client goes away. */
  private capture(network: string, b: Record<string, unknown>, req: http.IncomingMessage, res: http.ServerResponse): void {
    const opts = { count: optInt(b, 'count'), durationS: optInt(b, 'durationS'), outer: b.outer === true, host: optStr(b, 'host'), vtep: optStr(b, 'vtep') };
    let started = false;
    const stop = this.agent.startCapture(
      network,
      opts,
      (chunk) => {
        if (!started) {
          res.writeHead(200, { 'content-type': 'application/vnd.tcpdump.pcap' });
          started = true;
        }
        res.write(chunk);
      },
      () => res.end(),
    );
    req.socket.on('close', stop);
  }

  private match(method: string, path: string): { route: Route; params: Params } | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const m = route.pattern.exec(path);
      if (!m) continue;
      const params: Params = {};
      route.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1])));
      return { route, params };
    }
    return undefined;
  }
}

const send = (res: http.ServerResponse, status: number, body: unknown): void => sendJson(res, status, body);
const readJson = (req: http.IncomingMessage): Promise<Record<string, unknown>> =>
  readJsonObject(req, (message) => new OverlayError('BAD_REQUEST', message));

function espOptions(v: unknown): NetworkCreateRequest['esp'] {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new OverlayError('BAD_REQUEST', '"esp" must be an object');
  const o = v as Record<string, unknown>;
  const esp: NonNullable<NetworkCreateRequest['esp']> = {};
  if (o.carrier !== undefined) esp.carrier = o.carrier as 'ip' | 'udp'; // checked by the agent
  if (o.keyBits !== undefined) esp.keyBits = o.keyBits as 128 | 256;
  if (o.esn !== undefined) {
    if (typeof o.esn !== 'boolean') throw new OverlayError('BAD_REQUEST', '"esp.esn" must be true or false');
    esp.esn = o.esn;
  }
  return esp;
}

function str(b: Record<string, unknown>, key: string): string {
  const v = b[key];
  if (typeof v !== 'string' || v === '') throw new OverlayError('BAD_REQUEST', `"${key}" must be a non-empty string`);
  return v;
}

function oneOf<T extends string>(b: Record<string, unknown>, key: string, allowed: readonly T[]): T {
  const v = str(b, key);
  if (!(allowed as readonly string[]).includes(v)) throw new OverlayError('BAD_REQUEST', `"${key}" must be one of ${allowed.join(', ')}`);
  return v as T;
}

function strList(b: Record<string, unknown>, key: string): string[] {
  const v = b[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new OverlayError('BAD_REQUEST', `"${key}" must be a list of strings`);
  return v as string[];
}

function optInt(b: Record<string, unknown>, key: string): number | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new OverlayError('BAD_REQUEST', `"${key}" must be an integer`);
  return v;
}

function optStr(b: Record<string, unknown>, key: string): string | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new OverlayError('BAD_REQUEST', `"${key}" must be a string`);
  return v;
}

function optBool(b: Record<string, unknown>, key: string): boolean | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new OverlayError('BAD_REQUEST', `"${key}" must be true or false`);
  return v;
}
