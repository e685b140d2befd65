/**
 * Counters of a memberlist node: traffic, and every input dropped, by named
 * reason. Nothing received is ever thrown out of the packet or stream loop;
 * it is counted here instead.
 */

/** Reasons an inbound packet, message or stream is dropped. */
export type DropReason =
  | 'truncated' | 'badMsgpack' | 'badField' | 'badCrc' | 'decryptFailed' | 'notEncrypted' | 'badLabel'
  | 'unknownType' | 'tooLarge' | 'badCompression' | 'wrongNode' | 'handoffQueueFull' | 'unexpectedType'
  | 'blockedAddress' | 'streamFailed' | 'tooManyPushPulls' | 'remoteError' | 'protocolIncompatible'
  | 'mergeRefused' | 'emptyPacket' | 'streamTimeout';

/** A snapshot of a node's counters. */
export interface GossipStats {
  packetsReceived: number;
  packetsSent: number;
  bytesReceived: number;
  bytesSent: number;
  streamsAccepted: number;
  streamsDialed: number;
  probes: number;
  probesFailed: number;
  indirectProbes: number;
  tcpFallbackPings: number;
  suspectsRaised: number;
  refutations: number;
  pushPulls: number;
  /** Dropped inputs by reason. */
  dropped: Record<DropReason, number>;
}

/** Mutable counters; `snapshot()` copies them. */
export class StatsCounters implements GossipStats {
  packetsReceived = 0;
  packetsSent = 0;
  bytesReceived = 0;
  bytesSent = 0;
  streamsAccepted = 0;
  streamsDialed = 0;
  probes = 0;
  probesFailed = 0;
  indirectProbes = 0;
  tcpFallbackPings = 0;
  suspectsRaised = 0;
  refutations = 0;
  pushPulls = 0;
  dropped: Record<DropReason, number> = {
    truncated: 0, badMsgpack: 0, badField: 0, badCrc: 0, decryptFailed: 0, notEncrypted: 0, badLabel: 0,
    unknownType: 0, tooLarge: 0, badCompression: 0, wrongNode: 0, handoffQueueFull: 0, unexpectedType: 0,
    blockedAddress: 0, streamFailed: 0, tooManyPushPulls: 0, remoteError: 0, protocolIncompatible: 0,
    mergeRefused: 0, emptyPacket: 0, streamTimeout: 0,
  };

  /** Counts one drop. */
  drop(reason: DropReason): void {
    this.dropped[reason]++;
  }

  /** Total drops over all reasons. */
  totalDropped(): number {
    let n = 0;
    for (const v of Object.values(this.dropped)) n += v;
    return n;
  }

  /** A plain copy of every counter. */
  snapshot(): GossipStats {
    return { ...this, dropped: { ...this.dropped } };
  }
}

/** Maps a wire error code (GossipWireError.code) to a drop reason. */
export function dropReasonForWireCode(code: string): DropReason {
  switch (code) {
    case 'TRUNCATED': return 'truncated';
    case 'BAD_MSGPACK': return 'badMsgpack';
    case 'BAD_FIELD': return 'badField';
    case 'BAD_CRC': return 'badCrc';
    case 'DECRYPT_FAILED': return 'decryptFailed';
    case 'NOT_ENCRYPTED': return 'notEncrypted';
    case 'BAD_LABEL': return 'badLabel';
    case 'UNKNOWN_TYPE': return 'unknownType';
    case 'TOO_LARGE': return 'tooLarge';
    case 'BAD_COMPRESSION': return 'badCompression';
    case 'TIMEOUT': return 'streamTimeout';
    default: return 'badMsgpack';
  }
}
