/**
 * Checks of a request to create a network (`prepareNetwork` of store.ts)
 * before anything is written: the name, the subnets against the networks
 * known, the MTU, the VNI, and the multicast setting. Each refusal is an
 * OverlayError with a code the API maps to a status.
 */
import { cidrOverlaps, parseCidr, type Cidr } from '../wire/index.js';
import { DEFAULT_MULTICAST_RATE, MAX_MULTICAST_RATE } from '../dataplane/multicast/settings.js';
import type { NetworkEntry } from './entries.js';
import { OverlayError } from './errors.js';
import type { NetworkRequest } from './records.js';

export { DEFAULT_MULTICAST_RATE };

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** The request's subnets, parsed: at most one per family, none overlapping a known network's. */
export function requestedSubnets(req: NetworkRequest, known: NetworkEntry[]): Cidr[] {
  if (!NAME_RE.test(req.name)) throw new OverlayError('BAD_REQUEST', `invalid network name "${req.name}"`);
  if (req.subnets.length === 0) throw new OverlayError('BAD_REQUEST', 'a network needs at least one --subnet');
  const cidrs = req.subnets.map((s) => {
    try {
      return parseCidr(s);
    } catch (err) {
      throw new OverlayError('BAD_REQUEST', (err as Error).message);
    }
  });
  if (new Set(cidrs.map((c) => c.family)).size !== cidrs.length) {
    throw new OverlayError('BAD_REQUEST', 'at most one IPv4 and one IPv6 subnet per network');
  }
  for (const other of known) {
    for (const theirs of other.subnets.map(parseCidr)) {
      const clash = cidrs.find((c) => cidrOverlaps(c, theirs));
      if (clash) throw new OverlayError('SUBNET_OVERLAP', `subnet ${clash.text} overlaps ${theirs.text} of network ${other.name}`);
    }
  }
  if (!Number.isInteger(req.mtu) || req.mtu < 1280 || req.mtu > 65000) {
    throw new OverlayError('BAD_REQUEST', `invalid MTU ${req.mtu}: must be 1280..65000`);
  }
  return cidrs;
}

/**
 * The multicast setting of the entry: undefined without `multicast`, else the
 * storm-control rate (default DEFAULT_MULTICAST_RATE; 0: no limit).
 */
export function multicastSetting(req: Pick<NetworkRequest, 'multicast' | 'multicastRate'>): NetworkEntry['multicast'] {
  if (req.multicastRate !== undefined && req.multicast !== true) throw new OverlayError('BAD_REQUEST', 'a multicast rate applies to --multicast networks only');
  if (req.multicast !== true) return undefined;
  const rate = req.multicastRate ?? DEFAULT_MULTICAST_RATE;
  if (!Number.isInteger(rate) || rate < 0 || rate > MAX_MULTICAST_RATE) {
    throw new OverlayError('BAD_REQUEST', `invalid multicast rate ${rate}: must be 0 (no limit) .. ${MAX_MULTICAST_RATE} frames/s`);
  }
  return { rate };
}
