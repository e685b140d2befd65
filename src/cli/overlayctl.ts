#!/usr/bin/env node
/** `overlayctl`: a thin client of the agent's control API (DESIGN.md §4.1). */
import { createWriteStream, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { DEFAULT_CNI_BIN_DIR, installPlugin } from '../cni/install.js';
import { ControlClient, type ApiError } from '../api-client/client.js';
import { printTable } from './table.js';
import type { PerfReport } from '../agent/operations.js';
import { printTrace } from './trace-text.js';
import { EspSaFile } from './esp-sa-file.js';
import { printDoctor } from './doctor-text.js';
import { addEventsCommand } from './events.js';
import { registerCaCommands } from './ca-commands.js';
import { printPeers } from './peers-text.js';
import { printGroups } from './groups-text.js';
import { DEFAULT_MULTICAST_RATE } from '../cluster/network-request.js';

interface NetworkCreateOptions {
  subnet: string[];
  vni?: number;
  mtu?: number;
  encrypted?: boolean;
  espCarrier?: string;
  espKeyBits?: number;
  esn: boolean;
  multicast?: boolean;
  multicastRate?: number;
}

const DEFAULT_SOCKET = process.env.OVERLAYD_SOCKET ?? '/run/overlayd/overlayd.sock';

const program = new Command('overlayctl')
  .description('control an overlayd agent')
  .option('--socket <path>', 'control API unix socket', DEFAULT_SOCKET)
  .option('--json', 'print JSON (stable field names)');

const client = (): ControlClient => new ControlClient(program.opts().socket);
const json = (): boolean => program.opts().json === true;
const q = (network?: string): string => (network ? `?network=${encodeURIComponent(network)}` : '');
const enc = encodeURIComponent;
const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const int = (v: string): number => {
  if (!/^\d+$/.test(v)) throw new Error(`"${v}" is not a number`);
  return Number(v);
};

/** Prints `data` as JSON, or through `text` for people. */
function out<T>(data: T, text: (d: T) => void): void {
  if (json()) process.stdout.write(JSON.stringify(data, null, 2) + '\n');
  else text(data);
}

type Row = Record<string, unknown>;
const rows = (cols: string[]) => (d: Row[]) => printTable(d, cols);
const record = (d: Row): void => {
  for (const [k, v] of Object.entries(d)) process.stdout.write(`${k}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}\n`);
};

program.command('status').description('agent status').action(async () => out(await client().get<Row>('/v1/status'), record));
program
  .command('members')
  .description('cluster members as gossip sees them')
  .action(async () => out(await client().get<Row[]>('/v1/members'), rows(['name', 'addr', 'port', 'state', 'incarnation'])));
program
  .command('stats')
  .description('data-path counters')
  .action(async () =>
    out(await client().get<Row>('/v1/stats'), (d) => {
      type Moved = { packets: number; bytes: number };
      const s = d as { tx: Moved; rx: Moved; drops: Record<string, number>; workers?: { worker: number; tx: Moved; rx: Moved; drops: number }[] } & Row;
      process.stdout.write(`tx: ${s.tx.packets} packets, ${s.tx.bytes} bytes\nrx: ${s.rx.packets} packets, ${s.rx.bytes} bytes\n`);
      for (const k of ['arpReplies', 'ndReplies', 'icmpErrors', 'fragments']) process.stdout.write(`${k}: ${s[k]}\n`);
      const m = s.multicast as { frames: number; copies: number; rx: number } | undefined;
      if (m) process.stdout.write(`multicast: ${m.frames} frames replicated as ${m.copies} copies, ${m.rx} received\n`);
      const snoop = s.snooping as Record<string, number> | undefined;
      if (snoop) process.stdout.write(`snooping: ${Object.entries(snoop).map(([k, n]) => `${k}=${n}`).join(' ')}\n`);
      const drops = Object.entries(s.drops).filter(([, n]) => n > 0);
      process.stdout.write(`drops: ${drops.length ? drops.map(([r, n]) => `${r}=${n}`).join(' ') : 'none'}\n`);
      for (const w of s.workers ?? []) {
        process.stdout.write(`worker ${w.worker}: tx ${w.tx.packets} packets, rx ${w.rx.packets} packets, ${w.drops} drops\n`);
      }
    }),
  );

const network = program.command('network').description('overlay networks');
network
  .command('create <name>')
  .description('create a network')
  .requiredOption('--subnet <cidr>', 'subnet (repeat for one IPv4 and one IPv6)', collect)
  .option('--vni <n>', 'VXLAN network identifier (default: the next free from 4096)', int)
  .option('--mtu <n>', 'overlay MTU (default: underlay MTU - 50, or - 70 on IPv6; less the ESP overhead when encrypted)', int)
  .option('--encrypted', 'encrypt traffic between hosts (ESP, AES-GCM); needs the cluster\'s --gossip-key')
  .option('--esp-carrier <ip|udp>', 'encrypted: IP protocol 50 (default) or ESP-in-UDP on the ESP port')
  .option('--esp-key-bits <128|256>', 'encrypted: AES key size (default 128)', int)
  .option('--no-esn', 'encrypted: 32-bit sequence numbers (for tools without ESN, e.g. Wireshark 4.0 ICV checks)')
  .option('--multicast', 'carry broadcast and multicast between hosts, to the hosts whose endpoints joined the group (docs/multicast.md)')
  .option('--multicast-rate <n>', `multicast: storm control, replicated frames/s per host (default ${DEFAULT_MULTICAST_RATE}; 0: no limit)`, int)
  .action(async (name: string, o: NetworkCreateOptions) => {
    const espGiven = o.espCarrier !== undefined || o.espKeyBits !== undefined || !o.esn;
    if (espGiven && !o.encrypted) throw new Error('--esp-carrier, --esp-key-bits and --no-esn apply to --encrypted networks only');
    if (o.multicastRate !== undefined && !o.multicast) throw new Error('--multicast-rate applies to --multicast networks only');
    const esp = o.encrypted ? { carrier: o.espCarrier, keyBits: o.espKeyBits, esn: o.esn } : undefined;
    const body = { name, subnets: o.subnet, vni: o.vni, mtu: o.mtu, encrypted: o.encrypted === true, esp, multicast: o.multicast === true, multicastRate: o.multicastRate };
    out(await client().post<Row>('/v1/networks', body), (d) =>
      process.stdout.write(`${d.name} vni ${d.vni} id ${d.id} mtu ${d.mtu}${d.encrypted ? ' encrypted' : ''}${d.multicast ? ` multicast ${d.multicastRate || 'unlimited'}${d.multicastRate ? '/s' : ''}` : ''}\n`),
    );
  });
network
  .command('rotate-key <name>')
  .description('one key rotation step of an encrypted network: the key distributed last time starts sending')
  .action(async (name: string) => out(await client().post<Row>(`/v1/networks/${enc(name)}/rotate-key`, {}), printKeys));
network
  .command('ls')
  .description('list networks')
  .action(async () => out(await client().get<Row[]>('/v1/networks'), rows(['name', 'id', 'vni', 'subnets', 'mtu', 'encrypted', 'multicast'])));
network
  .command('inspect <name>')
  .description('show one network')
  .action(async (name: string) => out(await client().get<Row>(`/v1/networks/${enc(name)}`), record));
network
  .command('rm <name>')
  .description('remove a network (refused while endpoints are attached, unless --force)')
  .option('--force', 'detach its endpoints first')
  .action(async (name: string, o: { force?: boolean }) =>
    out(await client().delete<Row>(`/v1/networks/${enc(name)}${o.force ? '?force=1' : ''}`), () => process.stdout.write(`${name}\n`)),
  );

const endpoint = program.command('endpoint').description('container endpoints');
endpoint
  .command('attach <network>')
  .description('attach a network namespace to a network')
  .requiredOption('--netns <name|path>', 'the container network namespace')
  .option('--ip <ip>', 'address (repeat for IPv4 and IPv6; default: allocated)', collect)
  .option('--ifname <name>', 'interface name inside the namespace', 'eth0')
  .option('--container <id>', 'the id of the container that holds the namespace (shown by endpoint ls)')
  .action(async (net: string, o: { netns: string; ip?: string[]; ifname: string; container?: string }) =>
    out(await client().post<Row>('/v1/endpoints', { network: net, netns: o.netns, ips: o.ip, ifname: o.ifname, container: o.container }), (d) =>
      process.stdout.write(`${d.id} ${(d.ips as string[]).join(' ')} ${d.mac}\n`),
    ),
  );
endpoint
  .command('detach <id>')
  .description('detach an endpoint (id or unique prefix)')
  .action(async (id: string) => out(await client().delete<Row>(`/v1/endpoints/${enc(id)}`), (d) => process.stdout.write(`${d.id}\n`)));
endpoint
  .command('ls [network]')
  .description('list endpoints')
  .action(async (net?: string) =>
    out(await client().get<Row[]>(`/v1/endpoints${q(net)}`), rows(['id', 'network', 'ips', 'mac', 'ifname', 'netns', 'node', 'runtime', 'container'])),
  );

const peer = program.command('peer').description('static remote endpoints (hosts without an agent)');
peer
  .command('add <network>')
  .description('add a remote endpoint by hand')
  .requiredOption('--ip <ip>', 'its overlay address')
  .requiredOption('--mac <mac>', 'its MAC address')
  .requiredOption('--vtep <addr>', 'the underlay address of its host')
  .option('--group <addr>', 'multicast networks: a group it receives (repeat; broadcast and link-local groups reach it anyway)', collect)
  .action(async (net: string, o: { ip: string; mac: string; vtep: string; group?: string[] }) =>
    out(await client().post<Row>(`/v1/networks/${enc(net)}/peers`, { ip: o.ip, mac: o.mac, vtep: o.vtep, groups: o.group }), (d) =>
      process.stdout.write(`${d.ip} ${d.mac} via ${d.vtep}${d.groups ? ` groups ${(d.groups as string[]).join(' ')}` : ''}\n`),
    ),
  );
peer
  .command('rm <network>')
  .description('remove a static remote endpoint')
  .requiredOption('--ip <ip>', 'its overlay address')
  .action(async (net: string, o: { ip: string }) =>
    out(await client().delete<Row>(`/v1/networks/${enc(net)}/peers/${enc(o.ip)}`), (d) => process.stdout.write(`${d.ip}\n`)),
  );

program
  .command('peers [network]')
  .description('data-path health of each remote VTEP: probed over the data port (or ESP), state, RTT, loss, traffic')
  .action(async (net?: string) => out(await client().get<Row[]>(`/v1/peers${q(net)}`), printPeers));
program
  .command('keys <network>')
  .description('key ring and SAs of an encrypted network on this host')
  .option('--show-secrets', 'also the keys, and the SAs as Wireshark esp_sa records (root only)')
  .action(async (net: string, o: { showSecrets?: boolean }) =>
    out(await client().get<Row>(`/v1/networks/${enc(net)}/keys${o.showSecrets ? '?secrets=1' : ''}`), printKeys),
  );

program
  .command('fdb [network]')
  .description('forwarding database: MAC → VTEP')
  .action(async (net?: string) => out(await client().get<Row[]>(`/v1/fdb${q(net)}`), rows(['network', 'vni', 'mac', 'vtep', 'ip', 'origin', 'node'])));
program
  .command('neigh [network]')
  .description('neighbour table: IP → MAC')
  .action(async (net?: string) => out(await client().get<Row[]>(`/v1/neigh${q(net)}`), rows(['network', 'vni', 'ip', 'mac'])));

program
  .command('groups [network]')
  .description('multicast groups with a member anywhere: who listens, and where this host sends the group\'s frames')
  .action(async (net?: string) => out(await client().get<Row[]>(`/v1/groups${q(net)}`), printGroups));

program
  .command('trace <network>')
  .description("walk a described packet through this host's data path (nothing is sent or counted): each stage's result and the verdict")
  .requiredOption('--src <ip>', 'the sender: a local endpoint (egress), or a remote endpoint (--ingress)')
  .requiredOption('--dst <ip>', 'the destination (--ingress: a local endpoint)')
  .option('--proto <icmp|tcp|udp|arp>', 'ICMP echo request, TCP SYN, UDP, or the ARP request / neighbour solicitation for --dst (default icmp)')
  .option('--sport <n>', 'tcp/udp source port (default 40000)', int)
  .option('--dport <n>', 'tcp/udp destination port (default 80 / 53)', int)
  .option('--size <n>', 'length of the IP packet in bytes (default 84, 104 over IPv6: ping\'s)', int)
  .option('--df', "set IPv4's don't-fragment bit")
  .option('--dst-mac <mac>', "the destination MAC the sender uses (a stale neighbour entry), instead of this host's neighbour table's")
  .option('--ingress', 'walk a packet arriving from --vtep instead (VXLAN, or ESP on an encrypted network)')
  .option('--vtep <addr>', 'with --ingress: the VTEP it comes from')
  .action(async (net: string, o: { src: string; dst: string; proto?: string; sport?: number; dport?: number; size?: number; df?: boolean; dstMac?: string; ingress?: boolean; vtep?: string }) =>
    out(await client().post<Row>('/v1/trace', { network: net, ...o }), (d) => printTrace(d as unknown as Parameters<typeof printTrace>[0])),
  );

program
  .command('doctor')
  .description('check what commonly breaks an overlay on this host and in its cluster (firewall, MTU, members, FDB, …); exit status 1 when a check fails')
  .action(async () => {
    const report = await client()
      .get<Row>('/v1/doctor')
      .catch((err: ApiError) => {
        // The first thing to check when the doctor cannot even ask.
        if (err.unreachable) err.message += ': is overlayd running (systemctl status overlayd)? is --socket right?';
        throw err;
      });
    out(report, (d) => printDoctor(d as unknown as Parameters<typeof printDoctor>[0]));
    if (report.status === 'fail') process.exitCode = 1;
  });

program
  .command('capture <network>')
  .description('write the network\'s frames on this host to a pcap file')
  .requiredOption('-w, --write <file>', 'pcap file to write (- for standard output)')
  .option('--outer', 'the packets between hosts as they were on the wire (raw IP: VXLAN, or ESP as sealed) instead of the inner frames')
  .option('--host <ip>', 'only frames whose inner source or destination is this address')
  .option('--vtep <addr>', 'only packets sent to or received from this VTEP')
  .option('--esp-sa <file>', 'with --outer on an encrypted network: also write the ESP SAs (keys: root only, mode 0600) for Wireshark/tshark')
  .option('--count <n>', 'stop after this many frames', int)
  .option('--duration <s>', 'stop after this many seconds (default 30)', int)
  .action(async (net: string, o: { write: string; outer?: boolean; host?: string; vtep?: string; espSa?: string; count?: number; duration?: number }) => {
    if (o.espSa !== undefined && o.outer !== true) throw new Error('--esp-sa needs --outer: only the outer packets are encrypted');
    const sas = o.espSa === undefined ? undefined : new EspSaFile(client(), net, o.espSa);
    await sas?.update(); // refused (not root, not encrypted) before anything is captured
    const file = o.write === '-' ? process.stdout : createWriteStream(o.write, { fd: openSync(o.write, 'w') });
    const body = { count: o.count, durationS: o.duration, outer: o.outer === true, host: o.host, vtep: o.vtep };
    const bytes = await client().stream(`/v1/networks/${enc(net)}/capture`, body, file);
    if (file !== process.stdout) await new Promise<void>((resolve, reject) => (file as ReturnType<typeof createWriteStream>).end((err?: Error | null) => (err ? reject(err) : resolve())));
    await sas?.update(); // a key that arrived during the capture
    if (o.write !== '-') process.stderr.write(`${bytes} bytes written to ${o.write}${o.espSa ? `, ESP SAs to ${o.espSa}` : ''}\n`);
  });

program
  .command('perf <network>')
  .description('throughput, RTT and loss to another agent\'s host through the data path (test endpoints on both hosts, removed after)')
  .requiredOption('--to <node>', 'the other node (its name in overlayctl members)')
  .option('--seconds <n>', 'length of the throughput run, 1..60', int, 5)
  .option('--streams <n>', 'parallel TCP streams, 1..16', int, 1)
  .option('--reverse', 'the other node sends to this host (default: this host sends)')
  .action(async (net: string, o: { to: string; seconds: number; streams: number; reverse?: boolean }) => {
    // The run, the set-up on both hosts and the probes: longer than one ordinary call.
    const perfClient = new ControlClient(program.opts().socket, (o.seconds + 90) * 1000);
    out(await perfClient.post<Row>(`/v1/networks/${enc(net)}/perf`, { to: o.to, seconds: o.seconds, streams: o.streams, reverse: o.reverse === true }), (d) => {
      const r = d as unknown as PerfReport;
      process.stdout.write(
        `${r.network} (vni ${r.vni}${r.encrypted ? ', encrypted' : ''}) ${r.from} ${r.localIp} ⇄ ${r.to} ${r.remoteIp}\n` +
          `  throughput  ${r.gbps.toFixed(2)} Gbit/s, ${r.segmentsPerSec} segments/s (MSS ${r.mss}), TCP ×${r.streams} ${r.direction === 'send' ? `${r.from} → ${r.to}` : `${r.to} → ${r.from}`}, ${r.seconds} s\n` +
          `  rtt         p50 ${r.rttP50Ms.toFixed(3)} ms, p99 ${r.rttP99Ms.toFixed(3)} ms (min ${r.rttMinMs.toFixed(3)}, max ${r.rttMaxMs.toFixed(3)}), UDP echo ×${r.probes}\n` +
          `  loss        ${r.lossPct}%\n`,
      );
    });
  });

addEventsCommand(program, client, json, int);

program
  .command('cni')
  .description('the CNI plugin, overlayd-cni (docs/cni.md)')
  .command('install')
  .description("put overlayd-cni where CNI runtimes look for plugins (Debian's containerd also searches /usr/lib/cni)")
  .option('--dir <dir>', 'the CNI plugin directory', DEFAULT_CNI_BIN_DIR)
  .action((o: { dir: string }) => {
    const path = installPlugin({ dir: o.dir, entry: fileURLToPath(new URL('./overlayd-cni.js', import.meta.url)) });
    out({ installed: path }, (d) => process.stdout.write(`${d.installed}\n`));
  });

registerCaCommands(program, out, client);

/** Human form of `keys` / `rotate-key`. */
function printKeys(d: Row): void {
  const k = d as unknown as {
    network: string;
    vni: number;
    carrier: string;
    keySize: number;
    esn: boolean;
    keys: { tag: number; sending: boolean; pending: boolean; ageSeconds: number }[];
    sas: { direction: string; peer: string; spi: string; keyTag: number; seq: number }[];
    secrets?: { keys: { tag: number; material: string }[]; espSa: string; espSaRing: string };
  };
  process.stdout.write(`${k.network} vni ${k.vni}: ESP ${k.carrier === 'udp' ? 'in UDP' : '(IP 50)'}, AES-${k.keySize * 8}-GCM, ${k.esn ? '64' : '32'}-bit sequence numbers\n`);
  for (const key of k.keys) {
    const role = key.sending ? 'sending' : key.pending ? 'next' : 'receive only';
    process.stdout.write(`  key ${key.tag.toString(16).padStart(8, '0')}  ${role.padEnd(12)}  age ${key.ageSeconds} s\n`);
  }
  for (const sa of k.sas) process.stdout.write(`  ${sa.direction.padEnd(3)} ${sa.peer.padEnd(16)} spi ${sa.spi} key ${sa.keyTag.toString(16).padStart(8, '0')} seq ${sa.seq}\n`);
  if (k.secrets) {
    for (const key of k.secrets.keys) process.stdout.write(`  secret ${key.tag.toString(16).padStart(8, '0')} ${key.material}\n`);
    process.stdout.write(`# Wireshark esp_sa records:\n${k.secrets.espSa}`);
  }
}

// `overlayctl … | head`: a reader that closed the pipe ends the command quietly, as other Unix tools do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});

program.parseAsync().catch((err: Error) => {
  process.stderr.write(`overlayctl: ${err.message}\n`);
  process.exit(1);
});
