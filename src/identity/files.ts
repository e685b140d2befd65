/**
 * Certificates, keys and revocations as files (docs/identity.md): JSON, one
 * document per file, checked on read. Key files are written mode 0600 and
 * never overwritten.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseCertificate, type Certificate } from './certificate.js';
import { SEED_BYTES, keyFromSeed, type SigningKey } from './ed25519.js';
import { IdentityError } from './errors.js';
import { parseRevocation, type Revocation } from './revocation.js';

export const KEY_TYPE = 'overlayd-ed25519-key';

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new IdentityError('BAD_REQUEST', `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new IdentityError('BAD_REQUEST', `${what} ${path} is not JSON`);
  }
}

function rethrowWithPath<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof IdentityError) throw new IdentityError(err.code, `${path}: ${err.message}`);
    throw err;
  }
}

export const readCertificate = (path: string): Certificate => rethrowWithPath(path, () => parseCertificate(readJson(path, 'certificate')));
export const readRevocation = (path: string): Revocation => rethrowWithPath(path, () => parseRevocation(readJson(path, 'revocation')));

export function readKey(path: string): SigningKey {
  const doc = readJson(path, 'key') as { type?: unknown; seed?: unknown };
  const seed = typeof doc?.seed === 'string' ? Buffer.from(doc.seed, 'base64') : Buffer.alloc(0);
  if (doc?.type !== KEY_TYPE || seed.length !== SEED_BYTES) throw new IdentityError('BAD_KEY', `${path} is not an ${KEY_TYPE} file`);
  return keyFromSeed(seed);
}

export function writeDocument(path: string, doc: unknown): void {
  writeFileSync(path, JSON.stringify(doc, null, 2) + '\n', { flag: 'wx' });
}

export function writeKey(path: string, key: SigningKey): void {
  const doc = { type: KEY_TYPE, publicKey: Buffer.from(key.publicKey).toString('base64'), seed: Buffer.from(key.seed).toString('base64') };
  writeFileSync(path, JSON.stringify(doc, null, 2) + '\n', { flag: 'wx', mode: 0o600 });
}
