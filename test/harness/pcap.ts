/** Reading the packet records of a classic pcap file, for the capture tests. */

/** The captured bytes of every record of a pcap file (little- or big-endian, µs or ns timestamps). */
export function pcapRecords(pcap: Buffer): Buffer[] {
  const magicLE = pcap.readUInt32LE(0);
  const littleEndian = magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d;
  const magicBE = pcap.readUInt32BE(0);
  if (!littleEndian && magicBE !== 0xa1b2c3d4 && magicBE !== 0xa1b23c4d) {
    throw new Error(`not a pcap file (magic ${magicLE.toString(16)})`);
  }
  const records: Buffer[] = [];
  for (let off = 24; off + 16 <= pcap.length; ) {
    const caplen = littleEndian ? pcap.readUInt32LE(off + 8) : pcap.readUInt32BE(off + 8);
    records.push(pcap.subarray(off + 16, off + 16 + caplen));
    off += 16 + caplen;
  }
  return records;
}

/** Number of packet records in a pcap file. */
export function countPcapRecords(pcap: Buffer): number {
  return pcapRecords(pcap).length;
}
