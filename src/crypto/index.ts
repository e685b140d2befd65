/**
 * src/crypto: the data plane's ESP layer — SA derivation, AES-GCM seal/open
 * with 64-bit sequence numbers, the anti-replay window, MTU overhead, and SA
 * export for Wireshark. Which SAs a host holds is src/dataplane/esp-plan.ts;
 * the key ring of a network is src/cluster/network-keys.ts. Imports only src/wire and node built-ins (DESIGN.md §2).
 * docs/encryption.md describes the wire format and the derivation.
 */
export * from './errors.js';
export * from './sa.js';
export * from './derive.js';
export * from './replay-window.js';
export * from './esp.js';
export * from './overhead.js';
export * from './wireshark.js';

