/** Errors of overlay state changes; `code` is stable and reaches overlayctl's users. */
export type OverlayErrorCode =
  | 'BAD_REQUEST'
  | 'NETWORK_EXISTS'
  | 'NETWORK_NOT_FOUND'
  | 'NETWORK_IN_USE'
  | 'SUBNET_OVERLAP'
  | 'VNI_TAKEN'
  | 'ENDPOINT_NOT_FOUND'
  | 'IP_IN_USE'
  | 'IP_OUTSIDE_SUBNET'
  | 'SUBNET_FULL'
  | 'PEER_NOT_FOUND'
  | 'MAC_CONFLICT'
  | 'UNSUPPORTED'
  | 'FORBIDDEN'
  | 'NODE_NOT_FOUND'
  | 'NODE_DOWN'
  | 'NO_AGENT'
  | 'PERF_BUSY'
  | 'UNREACHABLE'
  | 'TIMEOUT';

export class OverlayError extends Error {
  constructor(
    readonly code: OverlayErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'OverlayError';
  }
}
