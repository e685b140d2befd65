/**
 * Packet capture with tcpdump inside a namespace, returning the pcap file
 * bytes. Bounded: it stops after `count` packets or `durationMs`, whichever
 * comes first.
 */
import { HarnessError } from './errors.js';
import { nsSpawn, type ManagedProcess } from './process.js';

/** Options of {@link startCapture}. */
export interface CaptureOptions {
  /** Stop after this many packets. */
  count?: number;
  /** Stop after this long at most (required: captures are bounded). */
  durationMs: number;
  /** Bytes kept per packet. Default 262144 (whole frames). */
  snaplen?: number;
  /**
   * Kernel capture buffer in KiB (`tcpdump -B`). In immediate mode each
   * packet takes a whole snaplen slot, so the default 2 MiB holds only a few
   * 256 KiB slots: give more where a busy machine may starve tcpdump.
   */
  bufferKiB?: number;
}

/** How long tcpdump may take to open the interface. */
const START_TIMEOUT_MS = 10_000;

/** A running capture. */
export class PacketCapture {
  /** Settles with the pcap file (header + packets) when tcpdump has stopped. */
  readonly pcap: Promise<Buffer>;

  constructor(private readonly tcpdump: ManagedProcess, durationMs: number) {
    const timer = setTimeout(() => tcpdump.signal('SIGINT'), durationMs);
    this.pcap = tcpdump.exited.then(async (status) => {
      clearTimeout(timer);
      await tcpdump.closed; // tcpdump has no children: its stdout ends right after it exits
      const bytes = tcpdump.stdoutBytes();
      // tcpdump exits 0 on its own (count reached) and on SIGINT; anything else is a failure.
      if ((status.code !== 0 && status.signal !== 'SIGINT') || bytes.length < 24) {
        throw new HarnessError('COMMAND_FAILED', `tcpdump failed (${JSON.stringify(status)}):\n${tcpdump.log()}`);
      }
      return bytes;
    });
    this.pcap.catch(() => undefined); // the caller may only ever call stop()
  }

  /** The pcap as written so far (header and whole packets: tcpdump -U flushes each one), while it runs. */
  sofar(): Buffer {
    return this.tcpdump.stdoutBytes();
  }

  /** Stops now (SIGINT, so tcpdump flushes) and returns the pcap. */
  async stop(): Promise<Buffer> {
    this.tcpdump.signal('SIGINT');
    return this.pcap;
  }
}

/**
 * Starts `tcpdump -w -` on `iface` in namespace `ns` with the BPF `filter`
 * (empty: everything) and resolves once tcpdump is listening, so traffic
 * sent afterwards is seen.
 */
export async function startCapture(
  ns: string,
  iface: string,
  filter: string,
  opts: CaptureOptions,
): Promise<PacketCapture> {
  // --immediate-mode: without it, packets still in the kernel's TPACKET_V3 block are lost on SIGINT.
  const args = ['tcpdump', '-i', iface, '-w', '-', '-U', '--immediate-mode', '-n', '-Z', 'root', '-s', String(opts.snaplen ?? 262144)];
  if (opts.count !== undefined) args.push('-c', String(opts.count));
  if (opts.bufferKiB !== undefined) args.push('-B', String(opts.bufferKiB));
  if (filter.trim()) args.push(filter);
  const tcpdump = nsSpawn(ns, args, { binaryStdout: true });
  const capture = new PacketCapture(tcpdump, opts.durationMs);
  try {
    await tcpdump.waitForLine(/listening on/, START_TIMEOUT_MS);
  } catch (error) {
    await tcpdump.stop('SIGKILL');
    throw error;
  }
  return capture;
}
