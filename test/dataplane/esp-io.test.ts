/**
 * The TypeScript path's encrypted I/O with real traffic: two JsDatapaths in
 * two namespaces over a veth underlay, each with two encrypted networks on
 * real TAPs — one on IP protocol 50 (raw socket), one on ESP-in-UDP. Ping
 * crosses both, every packet through an SA (no plaintext VXLAN involved),
 * and stop() ends the raw receive loop.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateNetworkKey } from '../../src/crypto/index.js';
import type { DatapathCounters, SaInfo } from '../../src/dataplane/datapath.js';
import { SIDES, SmokeTopology, nsRun } from '../../bench/native-smoke/topology.js';
import { haveNetns, haveTools, requirement } from '../../src/testkit/ci.js';
import { runPrefix } from '../../src/testkit/run.js';
import { haveAddon } from '../native/support.js';
import type { EspPeerConfig } from './esp-peer.js';

const ready = haveAddon() && requirement(haveNetns() && haveTools('ping', 'tcpdump'), 'needs root, ip, ping and tcpdump');

/** The two encrypted networks: overlay subnet 198.19.<vni − 40>.0/24 each. */
const NETWORKS = [
  { vni: 41, carrier: 'ip' as const, tap: 'e1' },
  { vni: 42, carrier: 'udp' as const, tap: 'e2' },
];
const MTU = 1400;
const overlayIp = (vni: number, side: number): string => `198.19.${vni - 40}.${side + 1}`;

/** A JsDatapath peer process (esp-peer.ts) in one namespace. */
class EspPeer {
  private readonly answers: ((line: string) => void)[] = [];
  private stderr = '';

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => this.answers.shift()?.(line));
    child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  static async start(ns: string, cfg: EspPeerConfig): Promise<EspPeer> {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'esp-peer.ts');
    const peer = new EspPeer(spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', script, JSON.stringify(cfg)]));
    const first = JSON.parse(await peer.next()) as { ready?: boolean };
    if (!first.ready) throw new Error(`peer in ${ns} did not start: ${peer.stderr}`);
    return peer;
  }

  next(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.answers.push(resolve);
      this.child.once('exit', () => reject(new Error(`peer exited: ${this.stderr}`)));
    });
  }

  async command<T>(line: string): Promise<T> {
    const answer = this.next();
    this.child.stdin.write(`${line}\n`);
    return JSON.parse(await answer) as T;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

describe.skipIf(!ready)('JsDatapath: encrypted networks over both carriers between two namespaces', () => {
  let topo: SmokeTopology;
  const peers: EspPeer[] = [];
  const prefix = `${runPrefix()}ej`;

  beforeAll(async () => {
    topo = await SmokeTopology.create(prefix);
    // A key per network, as the agent makes them (SAs derive from the key and the two VTEPs only).
    const keys = NETWORKS.map((n) => generateNetworkKey(n.vni));
    for (let i = 0; i < 2; i++) {
      const ns = topo.ns[i];
      for (const n of NETWORKS) {
        const dev = `${prefix}${n.tap}`;
        await nsRun(ns, ['ip', 'tuntap', 'add', 'mode', 'tap', 'name', dev]);
        await nsRun(ns, ['ip', 'link', 'set', dev, 'address', SIDES[i].mac, 'mtu', String(MTU), 'up']);
        await nsRun(ns, ['ip', 'addr', 'add', `${overlayIp(n.vni, i)}/24`, 'dev', dev]);
        await nsRun(ns, ['ip', 'neigh', 'replace', overlayIp(n.vni, 1 - i), 'lladdr', SIDES[1 - i].mac, 'dev', dev, 'nud', 'permanent']);
      }
      peers[i] = await EspPeer.start(ns, {
        bindAddress: SIDES[i].underlay,
        dataPort: 4789,
        espPort: 4500,
        networks: NETWORKS.map((n, k) => ({
          vni: n.vni,
          tapName: `${prefix}${n.tap}`,
          mtu: MTU,
          carrier: n.carrier,
          key: { tag: keys[k].tag, material: Buffer.from(keys[k].material).toString('hex') },
        })),
        remote: { mac: SIDES[1 - i].mac, vtep: SIDES[1 - i].underlay, ips: Object.fromEntries(NETWORKS.map((n) => [n.vni, overlayIp(n.vni, 1 - i)])) },
      });
    }
  }, 60_000);

  afterAll(async () => {
    for (const p of peers) p?.kill();
    await topo?.destroy();
  });

  for (const n of NETWORKS) {
    it(`carries ping across network ${n.vni} (carrier ${n.carrier}) in ESP, both ways`, async () => {
      await nsRun(topo.ns[0], ['ping', '-c', '3', '-i', '0.1', '-W', '2', overlayIp(n.vni, 1)]);
      await nsRun(topo.ns[1], ['ping', '-c', '3', '-i', '0.1', '-W', '2', overlayIp(n.vni, 0)]);
      for (const side of [0, 1]) {
        const sas = await peers[side]!.command<SaInfo[]>('sas');
        const mine = sas.filter((s) => s.vni === n.vni);
        const out = mine.find((s) => s.direction === 'out');
        const inbound = mine.find((s) => s.direction === 'in');
        // 3 requests and 3 replies each way: at least 6 sealed and 6 accepted per side on this network.
        expect(out?.peer).toBe(SIDES[1 - side].underlay);
        expect(out!.seq).toBeGreaterThanOrEqual(6);
        expect(inbound!.seq).toBeGreaterThanOrEqual(6);
        const c = await peers[side]!.command<DatapathCounters>('counters');
        expect(c.drops.no_sa + c.drops.plaintext_on_encrypted + c.drops.esp_bad_spi + c.drops.esp_bad_icv).toBe(0);
        expect(c.drops.udp_send).toBe(0);
      }
    });
  }

  it('puts only ESP on the underlay: no VXLAN datagram in plaintext', async () => {
    const dev = topo.underlayDevice(1);
    const dump = spawn('ip', ['netns', 'exec', topo.ns[1], 'tcpdump', '--immediate-mode', '-i', dev, '-n', '-l', 'ip proto 50 or udp port 4500 or udp port 4789']);
    const lines: string[] = [];
    createInterface({ input: dump.stdout }).on('line', (l) => lines.push(l));
    await new Promise<void>((resolve, reject) => {
      dump.stderr.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve());
      dump.once('exit', () => reject(new Error('tcpdump exited before listening')));
    });
    const exited = new Promise((resolve) => dump.once('exit', resolve));
    try {
      for (const n of NETWORKS) await nsRun(topo.ns[0], ['ping', '-c', '2', '-i', '0.1', '-W', '2', overlayIp(n.vni, 1)]);
    } finally {
      dump.kill('SIGINT');
      await exited;
    }
    // 2 requests and 2 replies per network
    expect(lines.filter((l) => /ESP\(spi=/.test(l) && !l.includes('UDP-encap')).length).toBeGreaterThanOrEqual(4);
    expect(lines.filter((l) => l.includes('UDP-encap') || l.includes('.4500')).length).toBeGreaterThanOrEqual(4);
    expect(lines.filter((l) => l.includes('.4789'))).toEqual([]);
  });

  it('stops cleanly: the raw receive loop ends and the process answers', async () => {
    for (const p of peers) expect(await p.command<{ stopped?: boolean }>('quit')).toEqual({ stopped: true });
  });
});
