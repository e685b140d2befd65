/**
 * The gossip layer: a TypeScript port of HashiCorp memberlist that Go
 * memberlist nodes accept as one of their own. Knows nothing of overlays.
 *
 * Typical use (the agent):
 *
 *   const ml = await Memberlist.create(
 *     { name: 'host-a', bindAddr: '0.0.0.0', bindPort: 7946, advertiseAddr: '198.18.0.1', secretKey },
 *     { delegate, events },            // optional: Delegate, EventDelegate, Merge/Conflict/Alive/Ping delegates
 *   );
 *   ml.on('join' | 'leave' | 'update', (node: NodeInfo) => …);
 *   await ml.join(['198.18.0.2', '198.18.0.3:7946']);   // resolves to the number of nodes reached
 *   ml.members();                       // NodeInfo[]: name, addr, port, state, incarnation, meta
 *   ml.keyring()?.addKey(k); ml.keyring()?.useKey(k);   // key rotation at run time
 *   await ml.leave(5_000); await ml.shutdown();
 *
 * Layout: memberlist.ts (public class, loops), member-table.ts (state
 * machine), prober.ts (SWIM + Lifeguard), packet-handler.ts and
 * stream-handler.ts (inbound paths, push/pull), broadcast-queue.ts,
 * suspicion.ts, awareness.ts, config.ts, transports (net-transport.ts,
 * mock-network.ts), clock.ts; wire/ holds the codecs.
 */
export { Memberlist, MemberlistError, type MemberlistOptions } from './memberlist.js';
export { pushPullScale } from './engine.js';
export { type Config, defaultLanConfig, defaultWanConfig, defaultLocalConfig, PROTOCOL_VERSION_MIN, PROTOCOL_VERSION_MAX, META_MAX_SIZE } from './config.js';
export type { Delegate, EventDelegate, ConflictDelegate, MergeDelegate, AliveDelegate, PingDelegate, Delegates } from './delegates.js';
export { type NodeInfo, type NodeStateName, NodeStateType } from './node.js';
export { type Transport, type InboundPacket, type StreamConn, type AdvertiseAddress, joinHostPort, splitHostPort, ensurePort } from './transport.js';
export { NetTransport, NetTransportError, type NetTransportOptions } from './net-transport.js';
export { MockNetwork, MockTransport, MockNetworkError, type MockNetworkOptions, type MockTrafficCounters } from './mock-network.js';
export { type Clock, type TimerHandle, systemClock, VirtualClock, seededRandom } from './clock.js';
export { type GossipStats, type DropReason } from './stats.js';
export { StreamExchangeError } from './stream-handler.js';
export { TransmitLimitedQueue, retransmitLimit, type Broadcast } from './broadcast-queue.js';
export { Keyring, encodeMsgpack, decodeMsgpack } from './wire/index.js';
