/**
 * src/crypto: the data plane's ESP layer — SA derivation, AES-GCM seal/open
 * with 64-bit sequence numbers, the anti-replay window, the per-network
 * keyring and its rotation schedule, MTU overhead, and SA export for
 * Wireshark. Imports only src/wire and node built-ins (DESIGN.md §2).
 * docs/encryption.md describes the wire format and the derivation.
 */
export * from './errors.js';
export * from './sa.js';
export * from './derive.js';
export * from './replay-window.js';
export * from './sequence.js';
export * from './esp.js';
export * from './overhead.js';
export * from './keyring.js';
export * from './rotation.js';
export * from './wireshark.js';
export * from './sa-table.js';
