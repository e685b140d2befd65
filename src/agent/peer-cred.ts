/**
 * Who called the control API: the uid at the other end of its unix socket
 * (SO_PEERCRED, through the addon). Secrets are shown to root only, also
 * when the socket is group-accessible.
 */
import type { Socket } from 'node:net';
import { loadAddon } from '../dataplane/addon.js';

interface CredAddon {
  peerCredentials(fd: number): { pid: number; uid: number; gid: number };
}

/** The caller's uid, or undefined when it cannot be told (then treat it as unprivileged). */
export function peerUid(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (fd === undefined || fd < 0) return undefined;
  try {
    return (loadAddon() as unknown as CredAddon).peerCredentials(fd).uid;
  } catch {
    return undefined;
  }
}
