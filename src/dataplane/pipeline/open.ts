/**
 * Ingress stage "open" (ESP on either carrier): the inbound SA found by
 * (source, SPI), the packet opened under it (replay window, ICV, padding:
 * crypto/'s openEsp), then the inner UDP header checked: UDP, its length that
 * of the payload, its destination the data port.
 */
import { ESP_NEXT_HEADER_UDP, openEsp } from '../../crypto/index.js';
import { UDP_HEADER_LENGTH } from '../../wire/index.js';
import type { DropReason } from '../datapath.js';
import type { EspSaStore } from '../esp-store.js';
import { canonicalAddress } from './frame.js';

/** An opened ESP packet: the VXLAN payload inside and who sent it through which network's SA. */
export interface Opened {
  /** The source address, canonical text form. */
  src: string;
  /** The network of the SA the packet came through. */
  vni: number;
  /** The VXLAN header and frame, after the inner UDP header. */
  payload: Buffer;
}

/** Returns the VXLAN payload of ESP `packet` from `srcAddress`, or the reason to drop it. */
export function open(sas: EspSaStore, srcAddress: string, packet: Buffer, dataPort: number): Opened | DropReason {
  if (packet.length < 4) return 'esp_truncated';
  const src = canonicalAddress(srcAddress);
  const inbound = src === undefined ? undefined : sas.findInbound(src, packet.readUInt32BE(0));
  if (inbound === undefined) return 'esp_bad_spi';
  const opened = openEsp(inbound.planned.sa, inbound.window, packet);
  if (typeof opened === 'string') return opened;
  const udp = opened.payload;
  if (
    opened.nextHeader !== ESP_NEXT_HEADER_UDP ||
    udp.length < UDP_HEADER_LENGTH ||
    udp.readUInt16BE(4) !== udp.length ||
    udp.readUInt16BE(2) !== dataPort
  ) {
    return 'malformed';
  }
  return { src: src!, vni: inbound.planned.vni, payload: udp.subarray(UDP_HEADER_LENGTH) };
}
