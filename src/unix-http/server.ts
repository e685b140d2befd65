/**
 * An HTTP server on a unix socket, as the agent's control API
 * (agent/api.ts) and Docker's plugin API (docker-plugin/server.ts) both
 * serve: the socket's folder is created, a stale socket file replaced, and
 * the socket made 0660. A layer of its own (node built-ins only), so both may
 * use it without one importing the other.
 */
import http from 'node:http';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

/** Starts `handler` listening on `socketPath`; resolves with the server once it listens. */
export function listenUnix(socketPath: string, handler: http.RequestListener): Promise<http.Server> {
  mkdirSync(dirname(socketPath), { recursive: true });
  rmSync(socketPath, { force: true });
  const server = http.createServer(handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      chmodSync(socketPath, 0o660);
      resolve(server);
    });
  });
}

/** Stops `server` (if any) from listening; the socket file goes with it. */
export function closeServer(server: http.Server | undefined): Promise<void> {
  return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
}

/** Largest request body either API reads. */
const MAX_BODY = 1 << 20;

/** Writes `body` as JSON with `status` and `contentType`. */
export function sendJson(res: http.ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The request body as a JSON object: no body is `{}` (and, with
 * `blankIsEmpty`, a body of white space or `null` too, as Docker sends);
 * too large or not an object rejects with `bad(message)`.
 */
export function readJsonObject(
  req: http.IncomingMessage,
  bad: (message: string) => Error,
  blankIsEmpty = false,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(bad('request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (chunks.length === 0 || (blankIsEmpty && ['', 'null'].includes(text.trim()))) return resolve({});
      try {
        const v = JSON.parse(text) as unknown;
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
        resolve(v as Record<string, unknown>);
      } catch {
        reject(bad('request body is not a JSON object'));
      }
    });
    req.on('error', reject);
  });
}
