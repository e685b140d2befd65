/**
 * Egress stage "seal" (encrypted networks): the inner UDP header written into
 * the headroom the encapsulate stage left, then UDP and VXLAN sealed as one
 * ESP payload (RFC 4303 transport mode, AES-GCM) under the outbound SA to
 * the VTEP, with that SA's next sequence number.
 */
import { ESP_NEXT_HEADER_UDP, sealEsp } from '../../crypto/index.js';
import type { DropReason } from '../datapath.js';
import type { EspSaStore } from '../esp-store.js';

/** Inner UDP source ports of encrypted traffic: 49152 + flowHash mod 16384. */
const ESP_SPORT_BASE = 49152;
const ESP_SPORT_RANGE = 16384;

/**
 * Returns the ESP packet carrying `datagram` (8 bytes of headroom, then the
 * VXLAN header and frame) to `vtep` on network `vni`, or `no_sa` when no
 * outbound SA can send any more (lookup checked one could; its sequence
 * numbers may run out between two fragments).
 */
export function seal(sas: EspSaStore, vni: number, vtep: string, hash: number, datagram: Buffer, dataPort: number): Buffer | DropReason {
  const out = sas.findOutbound(vni, vtep);
  if (out === undefined) return 'no_sa';
  datagram.writeUInt16BE(ESP_SPORT_BASE + (hash % ESP_SPORT_RANGE), 0);
  datagram.writeUInt16BE(dataPort, 2);
  datagram.writeUInt16BE(datagram.length, 4);
  datagram.writeUInt16BE(0, 6); // checksum 0: the ICV covers every byte (RFC 6935 for IPv6)
  return sealEsp(out.planned.sa, ++out.lastSeq, datagram, ESP_NEXT_HEADER_UDP);
}
