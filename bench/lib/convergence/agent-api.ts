/**
 * A small client of an agent's control API (HTTP/JSON on its unix socket,
 * src/agent/api.ts), for the benchmark's polling: one request costs no
 * process start, unlike `overlayctl`, so polling 50 agents does not load the
 * machine whose timing is being measured. The measured `endpoint attach`
 * itself still goes through `overlayctl`, as a user's would.
 */
import { request } from 'node:http';
import { ConvergenceError } from './errors.js';

/** How long one API call may take. */
const CALL_TIMEOUT_MS = 10_000;

/** One member as `GET /v1/members` shows it. */
export interface MemberView {
  name: string;
  state: string;
}

/** One neighbour-table row as `GET /v1/neigh` shows it. */
export interface NeighView {
  network: string;
  ip: string;
  mac: string;
}

/** Calls `method path` on the agent listening on `socket`; resolves with the parsed JSON body. */
export function callAgent<T>(socket: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        socketPath: socket,
        method,
        path,
        headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
        timeout: CALL_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 500) >= 300) {
            reject(new ConvergenceError('AGENT_API_FAILED', `${method} ${path} on ${socket}: HTTP ${res.statusCode}: ${text.trim()}`));
            return;
          }
          try {
            resolve(JSON.parse(text) as T);
          } catch (err) {
            reject(new ConvergenceError('AGENT_API_FAILED', `${method} ${path} on ${socket}: body is not JSON`, { cause: err }));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${CALL_TIMEOUT_MS} ms`)));
    req.on('error', (err) => reject(new ConvergenceError('AGENT_API_FAILED', `${method} ${path} on ${socket}: ${err.message}`, { cause: err })));
    req.end(payload);
  });
}
