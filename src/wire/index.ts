/**
 * src/wire: pure packet codecs — no I/O, no state, no imports from other
 * layers. Decoders take `(buf, offset = 0)`, return structures whose address
 * and MAC fields are Buffer slices aliasing the input (copy them to keep them
 * beyond the input's lifetime), and throw only WireError. Encoders return new
 * Buffers.
 */
export * from './errors.js';
export * from './mac.js';
export * from './ip.js';
export * from './cidr.js';
export * from './checksum.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './ipv4.js';
export * from './ipv6.js';
export * from './icmp.js';
export * from './icmpv6.js';
export * from './udp.js';
export * from './tcp.js';
export * from './vxlan.js';
export * from './pcap.js';
export * from './describe.js';
export * from './esp.js';
export * from './multicast.js';
export * from './igmp.js';
export * from './mld.js';
export * from './probe.js';
