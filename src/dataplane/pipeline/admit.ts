/**
 * Ingress stage "admit": whether a decapsulated frame may go to the TAP of
 * its network. Only from a network this host joined, never plaintext on an
 * encrypted network (CVE-2023-28840, -28842), only from a VTEP of the
 * network, and only with an inner source MAC the FDB puts at that VTEP —
 * except for a VTEP probe (wire/probe.ts), which speaks for no endpoint.
 */
import type { DropReason } from '../datapath.js';
import type { FdbTable } from '../tables.js';
import { canonicalAddress, type NetworkConfig } from './frame.js';

/**
 * Returns undefined when `frame` on network `vni` from `srcAddress` is
 * admitted, else the reason to drop it; `saVni` is the network of the SA
 * it came through (ESP), undefined for plaintext from the data port;
 * `probe`: the frame is a VTEP probe (no source MAC check).
 */
export function admit(
  networks: ReadonlyMap<number, NetworkConfig>,
  fdb: FdbTable,
  srcAddress: string,
  vni: number,
  frame: Buffer,
  saVni: number | undefined,
  probe = false,
): DropReason | undefined {
  if (saVni !== undefined && vni !== saVni) return 'esp_wrong_vni';
  const net = networks.get(vni);
  if (net === undefined) return 'unknown_vni';
  if (saVni === undefined && net.encryption !== undefined) return 'plaintext_on_encrypted';
  const src = canonicalAddress(srcAddress);
  if (src === undefined || !fdb.isVtep(vni, src)) return 'unknown_vtep';
  if (!probe && fdb.lookup(vni, frame, 6) !== src) return 'spoofed_src'; // frame[6..12): the source MAC
  return undefined;
}
