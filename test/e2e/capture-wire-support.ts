/**
 * What the wire-capture end-to-end test (capture-wire.test.ts) reads: the
 * packets of a pcap (tcpdump's Ethernet or overlayctl's raw IP) as
 * (addresses, protocol, ports, payload), the byte stream of each flow, and
 * tshark's view of a capture decrypted with an SA file; and the test's
 * `overlayctl capture` sessions, which end once their traffic is in.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeIPv4, decodeIPv6, decodeUdp, ETHERTYPE, IP_PROTOCOL, LINKTYPE_ETHERNET, readPcap } from '../../src/wire/index.js';
import { run, waitFor, type AgentHandle } from '../../src/testkit/agents.js';
import { spawnManaged, type ManagedProcess } from '../../src/testkit/process.js';

/** One IP packet: UDP (its payload and ports) or ESP (the ESP packet). */
export interface WirePacket {
  src: string;
  dst: string;
  proto: number;
  sport: number;
  dport: number;
  /** The UDP payload, or the ESP packet (IP protocol 50). */
  data: Buffer;
}

/** The UDP and ESP packets of a pcap, Ethernet (tcpdump) or raw IP (overlayctl --outer). */
export function wirePackets(pcap: Buffer): WirePacket[] {
  const file = readPcap(pcap);
  const out: WirePacket[] = [];
  for (const rec of file.packets) {
    let ip = rec.data;
    if (file.linkType === LINKTYPE_ETHERNET) {
      const type = ip.readUInt16BE(12);
      if (type !== ETHERTYPE.IPV4 && type !== ETHERTYPE.IPV6) continue;
      ip = ip.subarray(14);
    }
    const v4 = ip[0] >> 4 === 4;
    const h = v4 ? decodeIPv4(ip) : decodeIPv6(ip);
    const hlen = v4 ? (h as ReturnType<typeof decodeIPv4>).headerLength : 40;
    const proto = v4 ? (h as ReturnType<typeof decodeIPv4>).protocol : (h as ReturnType<typeof decodeIPv6>).nextHeader;
    const end = v4 ? (h as ReturnType<typeof decodeIPv4>).totalLength : 40 + (h as ReturnType<typeof decodeIPv6>).payloadLength;
    const body = ip.subarray(hlen, end);
    const addr = (b: Uint8Array): string => (v4 ? [...b].join('.') : Buffer.from(b).toString('hex'));
    const base = { src: addr(h.src), dst: addr(h.dst), proto };
    if (proto === IP_PROTOCOL.ESP) out.push({ ...base, sport: 0, dport: 0, data: Buffer.from(body) });
    if (proto === IP_PROTOCOL.UDP && body.length >= 8) {
      const u = decodeUdp(body, 0);
      out.push({ ...base, sport: u.srcPort, dport: u.dstPort, data: Buffer.from(body.subarray(8)) });
    }
  }
  return out;
}

/**
 * The bytes of each flow (addresses, protocol, ports), concatenated in order.
 * A GSO train that tcpdump saw as one packet and the datagrams it was cut
 * into give the same stream, so two captures of the same traffic give equal maps.
 */
export function flowStreams(packets: readonly WirePacket[]): Map<string, Buffer> {
  const parts = new Map<string, Buffer[]>();
  for (const p of packets) {
    const key = `${p.proto} ${p.src}:${p.sport} > ${p.dst}:${p.dport}`;
    parts.set(key, [...(parts.get(key) ?? []), p.data]);
  }
  return new Map([...parts].map(([k, v]) => [k, Buffer.concat(v)]));
}

/** How long a session's file must stay unchanged, its traffic sent, before the test ends the session. */
const QUIET_MS = 1000;

/**
 * An `overlayctl capture` on an agent, with `--duration` as the upper bound
 * of its window: {@link CaptureSession.finish} ends it as soon as what the
 * test waits for is in the file and nothing more came for {@link QUIET_MS}
 * (overlayctl is interrupted: the agent ends a session whose client went
 * away), instead of waiting the window out.
 */
export class CaptureSession {
  private constructor(
    readonly file: string,
    private readonly ctl: ManagedProcess,
    private readonly windowS: number,
  ) {}

  /** Starts the capture of `args` into `file` for at most `windowS` seconds, and waits until its session is open. */
  static async start(agent: AgentHandle, file: string, windowS: number, args: string[]): Promise<CaptureSession> {
    const ctl = spawnManaged([process.execPath, agent.ctlPath, '--socket', agent.socket, 'capture', ...args, '-w', file, '--duration', String(windowS)]);
    const session = new CaptureSession(file, ctl, windowS);
    const ended = ctl.exited.then(() => Promise.reject(new Error(`capture ended early: ${ctl.log()}`)));
    await Promise.race([captureOpen(file), ended]).catch(async (err: unknown) => {
      await ctl.stop('SIGKILL');
      throw err;
    });
    return session;
  }

  /**
   * Once the traffic is sent: waits until `ready(pcap so far)` holds and the
   * file has stayed unchanged for {@link QUIET_MS}, or the window is over,
   * and ends the session. Rejects if overlayctl failed.
   */
  async finish(ready: (pcap: Buffer) => boolean): Promise<void> {
    let size = -1;
    let since = Date.now();
    await waitFor(`capture ${this.file} complete`, async () => {
      if (this.ctl.exitStatus) return true; // the window is over
      const pcap = readFileSync(this.file);
      if (pcap.length !== size) [size, since] = [pcap.length, Date.now()];
      return Date.now() - since >= QUIET_MS && ready(pcap);
    }, this.windowS * 1000 + 5000);
    this.ctl.signal('SIGINT');
    const status = await this.ctl.exited;
    if (status.code !== 0 && status.signal !== 'SIGINT') throw new Error(`capture failed (${JSON.stringify(status)}): ${this.ctl.log()}`);
  }
}

/** Waits until overlayctl has written the pcap header: the capture session is open. */
export function captureOpen(file: string): Promise<boolean> {
  return waitFor(`capture ${file} open`, async () => existsSync(file) && statSync(file).size >= 24, 10_000);
}

/** The VNI of a VXLAN payload (or of the first datagram of a train). */
export const vniOf = (data: Buffer): number => (data.length >= 8 ? data.readUIntBE(4, 3) : -1);

/**
 * tshark on `pcap` with the SA file as its esp_sa table, as docs/debugging.md
 * says (a configuration folder holding it as `esp_sa`): the inner ICMP
 * packets decrypted, as "src dst type" lines of the innermost IP header.
 */
export async function tsharkInnerIcmp(pcap: string, saFile: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ovt-wsconf-'));
  try {
    copyFileSync(saFile, join(dir, 'esp_sa'));
    const r = await run(['env', `WIRESHARK_CONFIG_DIR=${dir}`, 'tshark', '-r', pcap, '-o', 'esp.enable_encryption_decode:TRUE', '-Y', 'icmp', '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'icmp.type'], 60_000);
    if (r.code !== 0) throw new Error(`tshark failed (${r.code}): ${r.stderr}`);
    // ip.src/ip.dst list every IP header, outer first: keep the innermost.
    return r.stdout.trim().split('\n').filter(Boolean).map((line) => line.split('\t').map((f) => f.split(',').pop()).join(' '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
