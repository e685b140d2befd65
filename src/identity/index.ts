/**
 * src/identity: node identity with a cluster CA (docs/identity.md). Pure
 * certificate logic — formats, canonical encoding, Ed25519 through libsodium,
 * the trust store — with file access only in files.ts and ca.ts. Imports
 * nothing but `wire` (addresses and CIDRs); cluster, agent and cli use it.
 */
export * from './errors.js';
export * from './canonical.js';
export * from './ed25519.js';
export * from './certificate.js';
export * from './revocation.js';
export * from './trust.js';
export * from './files.js';
export * from './ca.js';
