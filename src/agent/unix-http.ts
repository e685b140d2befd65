/**
 * An HTTP server on a unix socket, as the control API (api.ts) and Docker's
 * plugin API (docker/plugin-server.ts) both serve: the socket's folder is
 * created, a stale socket file replaced, and the socket made 0660.
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
