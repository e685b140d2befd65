/**
 * The gossip layer: a TypeScript port of HashiCorp memberlist that Go
 * memberlist nodes accept as one of their own. Knows nothing of overlays.
 */
export { Memberlist, MemberlistError, pushPullScale, type MemberlistOptions } from './memberlist.js';
export { type Config, defaultLanConfig, defaultWanConfig, defaultLocalConfig, PROTOCOL_VERSION_MIN, PROTOCOL_VERSION_MAX, META_MAX_SIZE } from './config.js';
export type { Delegate, EventDelegate, ConflictDelegate, MergeDelegate, AliveDelegate, PingDelegate, Delegates } from './delegates.js';
export { type NodeInfo, type NodeStateName, NodeStateType } from './node.js';
export { type Transport, type InboundPacket, type StreamConn, type AdvertiseAddress, joinHostPort, splitHostPort, ensurePort } from './transport.js';
export { NetTransport, NetTransportError, type NetTransportOptions } from './net-transport.js';
export { MockNetwork, MockTransport, MockNetworkError, type MockNetworkOptions, type MockTrafficCounters } from './mock-network.js';
export { type Clock, type TimerHandle, systemClock, VirtualClock, seededRandom } from './clock.js';
export { type GossipStats, type DropReason } from './stats.js';
export { TransmitLimitedQueue, retransmitLimit, type Broadcast } from './broadcast-queue.js';
export { Keyring } from './wire/index.js';
