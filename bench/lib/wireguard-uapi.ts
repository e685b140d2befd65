/**
 * Configuring wireguard-go through its UAPI socket
 * (/var/run/wireguard/<iface>.sock, the protocol `wg` itself speaks):
 * `set=1`, then `key=value` lines, a blank line; the answer is `errno=N`.
 * Keys are Curve25519 pairs, hex-encoded on this protocol; `wg genkey` is
 * used when the `wg` tool exists, otherwise Node's X25519.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { HarnessError, sh, WIREGUARD_SOCKET_DIR } from '../../src/testkit/netns.js';
import { haveTool } from '../../src/testkit/ci.js';

/** A Curve25519 key pair, hex (the UAPI encoding). */
export interface WireguardKeyPair {
  privateKeyHex: string;
  publicKeyHex: string;
}

/** Makes a key pair with `wg genkey`/`wg pubkey` if available, else with Node's X25519. */
export async function generateWireguardKeys(): Promise<WireguardKeyPair> {
  if (haveTool('wg')) {
    const priv = (await sh(['wg', 'genkey'])).stdout.trim();
    const pub = (await sh(['wg', 'pubkey'], { input: priv })).stdout.trim();
    return { privateKeyHex: base64ToHex(priv), publicKeyHex: base64ToHex(pub) };
  }
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const d = privateKey.export({ format: 'jwk' }).d;
  const x = publicKey.export({ format: 'jwk' }).x;
  if (!d || !x) throw new HarnessError('BAD_ARGUMENT', 'X25519 key export returned no key material');
  return { privateKeyHex: Buffer.from(d, 'base64url').toString('hex'), publicKeyHex: Buffer.from(x, 'base64url').toString('hex') };
}

/** The UAPI socket path of interface `iface`. */
export function uapiSocketPath(iface: string): string {
  return `${WIREGUARD_SOCKET_DIR}/${iface}.sock`;
}

/** Waits until wireguard-go has created the UAPI socket of `iface`. */
export async function waitForUapiSocket(iface: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(uapiSocketPath(iface))) {
    if (Date.now() > deadline) throw new HarnessError('WAIT_TIMEOUT', `no UAPI socket for ${iface} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends one `set=1` operation with `lines` (`key=value`); rejects unless the device answers `errno=0`. */
export function uapiSet(iface: string, lines: readonly string[], timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(uapiSocketPath(iface));
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new HarnessError('WAIT_TIMEOUT', `UAPI ${iface}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(`set=1\n${lines.join('\n')}\n\n`));
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
      if (!answer.includes('\n\n')) return;
      clearTimeout(timer);
      socket.end();
      const errno = /errno=(-?\d+)/.exec(answer)?.[1];
      if (errno === '0') resolve();
      else reject(new HarnessError('COMMAND_FAILED', `UAPI ${iface} set failed: ${answer.trim()}`));
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(new HarnessError('COMMAND_FAILED', `UAPI ${iface}: ${error.message}`, { cause: error }));
    });
  });
}

function base64ToHex(key: string): string {
  return Buffer.from(key, 'base64').toString('hex');
}
