/**
 * A client of the control API (src/agent/api.ts) over its unix socket: what
 * overlayctl and the CNI plugin speak. It knows HTTP/JSON and the error
 * envelope, nothing of the agent's internals (a layer of its own, DESIGN.md §2).
 */
import http from 'node:http';

/**
 * A failed call: `code` is the agent's error code (NETWORK_NOT_FOUND, …) with
 * the HTTP `status`; when the agent could not be reached at all, `status` is
 * 0 and `code` the socket error (ENOENT, ECONNREFUSED, TIMEOUT, …).
 */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** True when no agent answered (nothing listening, refused, timed out). */
  get unreachable(): boolean {
    return this.status === 0;
  }
}

export class ControlClient {
  /** `timeoutMs`: how long one call may wait for the agent's answer. */
  constructor(
    private readonly socketPath: string,
    private readonly timeoutMs = 60_000,
  ) {}

  /** GET `path` (e.g. `/v1/endpoints?network=blue`). */
  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }
  /** POST `body` as JSON to `path`. */
  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }
  /** DELETE `path`. */
  delete<T>(path: string): Promise<T> {
    return this.call<T>('DELETE', path);
  }

  /**
   * POSTs `body` (GET when it is undefined) and writes the response body into
   * `sink` as it arrives (a pcap stream, NDJSON events); resolves with the
   * number of bytes once the agent ends it.
   */
  stream(path: string, body: unknown, sink: NodeJS.WritableStream): Promise<number> {
    const payload = body === undefined ? '' : JSON.stringify(body);
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
    return new Promise((resolve, reject) => {
      const req = http.request(
        { socketPath: this.socketPath, method: body === undefined ? 'GET' : 'POST', path, headers },
        (res) => {
          if ((res.statusCode ?? 500) >= 400) {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              let err: { code?: string; message?: string } | undefined;
              try {
                err = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: { code: string; message: string } }).error;
              } catch {
                err = undefined;
              }
              reject(new ApiError(err?.code ?? 'HTTP_ERROR', err?.message ?? `HTTP ${res.statusCode}`, res.statusCode ?? 0));
            });
            return;
          }
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            sink.write(c);
          });
          res.on('end', () => resolve(bytes));
          res.on('error', reject);
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? `no agent is listening on ${this.socketPath}` : e.message;
        reject(new ApiError(e.code ?? 'CONNECT', why, 0));
      });
      req.end(payload);
    });
  }

  /** One call: resolves with the parsed JSON answer, rejects with an {@link ApiError}. */
  call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let doc: unknown;
            try {
              doc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              return reject(new ApiError('BAD_RESPONSE', `agent sent a response that is not JSON (HTTP ${res.statusCode})`, res.statusCode ?? 0));
            }
            const err = (doc as { error?: { code: string; message: string } }).error;
            if ((res.statusCode ?? 500) >= 400 || err) {
              return reject(new ApiError(err?.code ?? 'HTTP_ERROR', err?.message ?? `HTTP ${res.statusCode}`, res.statusCode ?? 0));
            }
            resolve(doc as T);
          });
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? `no agent is listening on ${this.socketPath}` : e.message;
        reject(new ApiError(e.code ?? 'CONNECT', why, 0));
      });
      req.setTimeout(this.timeoutMs, () => {
        const e: NodeJS.ErrnoException = new Error(`the agent on ${this.socketPath} did not answer within ${this.timeoutMs / 1000} s`);
        e.code = 'TIMEOUT';
        req.destroy(e);
      });
      if (payload) req.write(payload);
      req.end();
    });
  }
}
