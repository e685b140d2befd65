/**
 * Encrypted networks through the native I/O loops: two NativeDatapaths in
 * two namespaces over a veth underlay (the smoke topology), one encrypted
 * network on real TAPs, once per carrier. Ping and a UDP exchange cross; a
 * capture on the underlay holds ESP only — IP protocol 50 or UDP 4500 —
 * and not one VXLAN datagram.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateNetworkKey, type EspCarrier } from '../../src/crypto/index.js';
import type { DatapathCounters } from '../../src/dataplane/datapath.js';
import { SIDES, SmokeTopology, nsRun, run } from '../../bench/native-smoke/topology.js';
import { haveNetns, haveTools, requirement } from '../../src/testkit/ci.js';
import { runPrefix } from '../../src/testkit/run.js';
import type { EspPeerConfig } from './esp-peer.js';
import { haveAddon } from './support.js';

const ready = haveAddon() && requirement(haveNetns() && haveTools('ping', 'tcpdump', 'python3'), 'needs root, ip, ping, tcpdump and python3');

const VNI = 77;
/** The encrypted overlay MTU on a 1500-byte IPv4 underlay (src/crypto/overhead.ts). */
const MTU: Record<EspCarrier, number> = { ip: 1416, udp: 1408 };

/** An esp-peer.ts process in one namespace, answering one JSON line per command. */
class EspPeer {
  private readonly pending: ((line: string) => void)[] = [];
  private stderr = '';

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => this.pending.shift()?.(line));
    child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  static async start(ns: string, cfg: EspPeerConfig): Promise<EspPeer> {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'esp-peer.ts');
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', script, JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const peer = new EspPeer(child);
    const first = JSON.parse(await peer.next(20_000)) as { ready?: boolean };
    if (!first.ready) throw new Error(`esp peer in ${ns} did not start: ${JSON.stringify(first)}`);
    return peer;
  }

  private next(timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`esp peer did not answer; stderr: ${this.stderr}`)), timeoutMs);
      this.pending.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  }

  async command<T>(cmd: string): Promise<T> {
    const answer = this.next();
    this.child.stdin.write(`${cmd}\n`);
    return JSON.parse(await answer) as T;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end('quit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/** UDP echo: side b answers one datagram; side a sends it and prints the answer. */
const UDP_ECHO = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 5002)); s.settimeout(20)
print("listening", flush=True)
d, a = s.recvfrom(2048); s.sendto(d[::-1], a)
`;
const UDP_ASK = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
for _ in range(20):
    s.sendto(b"overlayd-esp", (sys.argv[1], 5002))
    try:
        print(s.recvfrom(2048)[0].decode(), flush=True); break
    except socket.timeout:
        pass
`;

for (const carrier of ['ip', 'udp'] as const) {
  describe.skipIf(!ready)(`an encrypted network over carrier ${carrier}, native I/O`, () => {
    let topo: SmokeTopology | undefined;
    const peers: EspPeer[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'ovt-esp-'));
    const pcap = join(dir, 'underlay.pcap');
    let capture: ChildProcessWithoutNullStreams | undefined;

    beforeAll(async () => {
      topo = await SmokeTopology.create(`${runPrefix()}e${carrier === 'ip' ? 'i' : 'u'}`);
      const key = generateNetworkKey(3);
      const dev = topo.overlayDevice;
      for (let i = 0; i < 2; i++) {
        const ns = topo.ns[i];
        const other = SIDES[1 - i];
        await nsRun(ns, ['ip', 'tuntap', 'add', 'mode', 'tap', 'name', dev]);
        await nsRun(ns, ['ip', 'link', 'set', dev, 'address', SIDES[i].mac, 'mtu', String(MTU[carrier])]);
        await nsRun(ns, ['ip', 'addr', 'add', `${SIDES[i].overlay}/24`, 'dev', dev]);
        await nsRun(ns, ['ip', 'link', 'set', dev, 'up']);
        await nsRun(ns, ['ip', 'neigh', 'replace', other.overlay, 'lladdr', other.mac, 'dev', dev, 'nud', 'permanent']);
      }
      capture = spawn('ip', ['netns', 'exec', topo.ns[0], 'tcpdump', '--immediate-mode', '-U', '-n', '-i', topo.underlayDevice(0), '-w', pcap], { stdio: ['pipe', 'pipe', 'pipe'] });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5_000);
        capture!.stderr.on('data', (d: Buffer) => {
          if (d.toString().includes('listening')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      for (let i = 0; i < 2; i++) {
        const other = SIDES[1 - i];
        peers[i] = await EspPeer.start(topo.ns[i], {
          bindAddress: SIDES[i].underlay,
          vni: VNI,
          tapName: dev,
          mtu: MTU[carrier],
          carrier,
          keyHex: Buffer.from(key.material).toString('hex'),
          keyTag: key.tag,
          remote: { mac: other.mac, ip: other.overlay, vtep: other.underlay },
        });
      }
    }, 60_000);

    afterAll(async () => {
      capture?.kill('SIGINT');
      await Promise.allSettled(peers.map((p) => p.stop()));
      await topo?.destroy();
      rmSync(dir, { recursive: true, force: true });
    });

    it('carries ping both ways and a UDP exchange, counted as rx on each side', async () => {
      const out = await nsRun(topo!.ns[0], ['ping', '-c', '3', '-i', '0.2', '-W', '2', SIDES[1].overlay], 20_000);
      expect(out).toMatch(/3 received/);
      const back = await nsRun(topo!.ns[1], ['ping', '-c', '2', '-i', '0.2', '-W', '2', '-s', String(MTU[carrier] - 28), '-M', 'do', SIDES[0].overlay], 20_000);
      expect(back).toMatch(/2 received/);
      const echo = nsRun(topo!.ns[1], ['python3', '-c', UDP_ECHO, SIDES[1].overlay], 30_000);
      await new Promise((r) => setTimeout(r, 300));
      const answer = await nsRun(topo!.ns[0], ['python3', '-c', UDP_ASK, SIDES[1].overlay], 30_000);
      await echo;
      expect(answer.trim()).toBe('pse-dyalrevo');
      const counters = await Promise.all(peers.map((p) => p.command<DatapathCounters>('counters')));
      for (const c of counters) {
        expect(c.rx.packets).toBeGreaterThanOrEqual(5);
        expect(c.drops.udp_send).toBe(0);
        expect(c.drops.esp_bad_icv + c.drops.esp_bad_spi + c.drops.plaintext_on_encrypted).toBe(0);
      }
      const sas = await peers[0].command<{ direction: string; seq: number }[]>('sas');
      expect(sas.find((s) => s.direction === 'out')!.seq).toBeGreaterThanOrEqual(5);
    }, 60_000);

    it('drops an RFC 3948 NAT keepalive (one byte 0xff on UDP 4500) as esp_truncated and forwards on', async () => {
      const before = await peers[0].command<DatapathCounters>('counters');
      const send = 'import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"\\xff", (sys.argv[1], 4500))';
      await nsRun(topo!.ns[1], ['python3', '-c', send, SIDES[0].underlay]);
      const out = await nsRun(topo!.ns[1], ['ping', '-c', '1', '-W', '2', SIDES[0].overlay], 20_000);
      expect(out).toMatch(/1 received/);
      const after = await peers[0].command<DatapathCounters>('counters');
      expect(after.drops.esp_truncated - before.drops.esp_truncated).toBe(1);
    }, 30_000);

    it('puts only ESP on the underlay: protocol 50 or UDP 4500, never VXLAN', async () => {
      // Immediate mode hands each packet to tcpdump at once; the file is complete once it ends.
      await new Promise((r) => setTimeout(r, 200));
      const ended = new Promise<void>((resolve) => capture!.once('exit', () => resolve()));
      capture!.kill('SIGINT');
      await ended;
      const count = async (filter: string): Promise<number> => {
        const text = await run('tcpdump', ['-n', '-r', pcap, filter], 20_000);
        return text.split('\n').filter((l) => l.trim() !== '').length;
      };
      const esp = await count(carrier === 'ip' ? 'ip proto 50' : 'udp port 4500');
      expect(esp).toBeGreaterThanOrEqual(14);
      expect(await count('udp port 4789')).toBe(0);
      // (the NAT keepalive of the test above is a 43-byte frame on UDP 4500 with either carrier)
      expect(await count(carrier === 'ip' ? 'udp port 4500 and greater 60' : 'ip proto 50')).toBe(0);
      expect(await count('icmp')).toBe(0); // the overlay's pings are inside ESP
    }, 30_000);
  });
}
