/**
 * Docker's plugin protocol (moby pkg/plugins): HTTP POST of JSON to
 * `/<Interface>.<Call>` on a unix socket in Docker's plugin directory, answered
 * with `application/vnd.docker.plugins.v1.2+json`. A call that fails answers
 * one line in the field its interface reads: `{"Err": …}` for NetworkDriver
 * (libnetwork drivers/remote/api), `{"Error": …}` for IpamDriver
 * (ipams/remote/api) — dockerd ignores the other name and reports only "No
 * address returned". A call this plugin does not know answers 404 with
 * "404 page not found" in Err (pkg/plugins reads that one for every
 * interface), which is how dockerd recognises optional calls.
 */
import type http from 'node:http';
import { closeServer, listenUnix, readJsonObject, sendJson } from '../unix-http/server.js';

export const PLUGIN_CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json';

/** One plugin call: the decoded request body in, the response body out. */
export type PluginCall = (body: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown>;

/** A plugin call's failure as Docker shows it (`Err`/`Error`); `code` says which, for logs and tests. */
export class PluginError extends Error {
  constructor(
    readonly code: 'BAD_REQUEST' | 'UNSUPPORTED' | 'UNKNOWN_NETWORK' | 'NOT_FOUND' | 'AGENT_DOWN',
    message: string,
  ) {
    super(message);
    this.name = 'PluginError';
  }
}

/** Serves a table of calls (`"NetworkDriver.Join"` → handler) on a unix socket. */
export class PluginServer {
  private server?: http.Server;

  constructor(
    private readonly calls: Map<string, PluginCall>,
    /** Where a call that failed is logged (with its call name and the error). */
    private readonly onError: (call: string, err: Error) => void,
  ) {}

  /** Listens on `socketPath` (its folder is created; a stale socket is replaced). */
  async listen(socketPath: string): Promise<void> {
    this.server = await listenUnix(socketPath, (req, res) => void this.handle(req, res));
  }

  /** Stops listening (the socket file goes away with the server). */
  close(): Promise<void> {
    return closeServer(this.server);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const name = (req.url ?? '/').replace(/^\//, '').split('?')[0];
    const call = req.method === 'POST' ? this.calls.get(name) : undefined;
    if (!call) return reply(res, 404, { Err: `404 page not found: overlayd does not implement ${req.method} /${name}` });
    try {
      const body = await readBody(req);
      reply(res, 200, await call(body));
    } catch (err) {
      const e = err as Error;
      this.onError(name, e);
      reply(res, 200, { [errorField(name)]: oneLine(e.message) });
    }
  }
}

const reply = (res: http.ServerResponse, status: number, body: unknown): void => sendJson(res, status, body, PLUGIN_CONTENT_TYPE);

/** The field a failed call's line goes in: the IPAM interface names it differently from the others. */
export const errorField = (call: string): 'Err' | 'Error' => (call.startsWith('IpamDriver.') ? 'Error' : 'Err');

const oneLine = (s: string): string => s.split('\n')[0].trim() || 'unknown error';

/** The request body as an object; an empty body (Plugin.Activate, GetCapabilities) is `{}`. */
const readBody = (req: http.IncomingMessage): Promise<Record<string, unknown>> =>
  readJsonObject(req, (message) => new PluginError('BAD_REQUEST', message), true);
