/** Counting records of a classic pcap file, for the capture tests. */

/** Number of packet records in a pcap file (little- or big-endian, µs or ns). */
export function countPcapRecords(pcap: Buffer): number {
  const magic = pcap.readUInt32LE(0);
  const littleEndian = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!littleEndian && pcap.readUInt32BE(0) !== 0xa1b2c3d4 && pcap.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error(`not a pcap file (magic ${magic.toString(16)})`);
  }
  let count = 0;
  for (let off = 24; off + 16 <= pcap.length; count++) {
    const caplen = littleEndian ? pcap.readUInt32LE(off + 8) : pcap.readUInt32BE(off + 8);
    off += 16 + caplen;
  }
  return count;
}
