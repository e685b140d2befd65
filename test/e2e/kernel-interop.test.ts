/**
 * Interoperability with the Linux kernel's VXLAN: host 1 runs overlayd, host 2
 * a kernel `vxlan` device on the same VNI and port behind a bridge, with
 * static `bridge fdb` and `ip neigh` entries toward our VTEP (how a host
 * without an agent joins an overlay). Traffic flows both ways.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Topology } from '../../src/testkit/topology.js';
import { haveRoot, haveTools, requirement } from '../../src/testkit/ci.js';
import { nsExec, ping, startAgents, tearDown, type AgentHandle, type Endpoint } from '../../src/testkit/agents.js';

const ready = requirement(haveRoot() && haveTools('ip', 'bridge', 'ping', 'ethtool'), 'kernel interop needs root, ip, bridge, ping and ethtool');
const TRANSFER = join(import.meta.dirname, 'fixtures/transfer.mjs');
const VNI = 4300;
const KERNEL_IP = '198.19.3.9';
const KERNEL_MAC = '02:42:c6:13:03:09';

describe.skipIf(!ready).each(['native', 'js'] as const)('kernel VXLAN peer, %s data path', (datapath) => {
  let topo: Topology;
  let agent: AgentHandle;
  let ours: Endpoint;
  let kernelNs: string;

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 2 });
    [agent] = await startAgents(topo, { datapath }, [1]);
    await agent.ctl('network', 'create', 'k', '--subnet', '198.19.3.0/24', '--vni', String(VNI));
    const c = await topo.container(1, 'o');
    ours = await agent.ctl<Endpoint>('endpoint', 'attach', 'k', '--netns', c.ns, '--ip', '198.19.3.2');
    await agent.ctl('peer', 'add', 'k', '--ip', KERNEL_IP, '--mac', KERNEL_MAC, '--vtep', topo.host(2).addr4!);

    // Host 2: the kernel's own VXLAN, no agent.
    const h2 = topo.host(2).ns;
    kernelNs = (await topo.container(2, 'k')).ns;
    const x = (...cmd: string[]) => nsExec(h2, cmd);
    await x('ip', 'link', 'add', 'kvx', 'type', 'vxlan', 'id', String(VNI), 'dstport', '4789', 'local', topo.host(2).addr4!, 'nolearning');
    await x('ip', 'link', 'add', 'kbr', 'type', 'bridge');
    await x('ip', 'link', 'set', 'kvx', 'master', 'kbr', 'up');
    await x('ip', 'link', 'set', 'kbr', 'up');
    await x('ip', 'link', 'add', 'kve', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', kernelNs);
    await x('ip', 'link', 'set', 'kve', 'master', 'kbr', 'up');
    await x('bridge', 'fdb', 'append', ours.mac, 'dev', 'kvx', 'dst', topo.host(1).addr4!, 'self', 'permanent');
    const k = (...cmd: string[]) => nsExec(kernelNs, cmd);
    await k('ip', 'link', 'set', 'eth0', 'address', KERNEL_MAC, 'mtu', '1450', 'up');
    await k('ip', 'addr', 'add', `${KERNEL_IP}/24`, 'dev', 'eth0');
    await k('ip', 'neigh', 'add', ours.ip, 'lladdr', ours.mac, 'dev', 'eth0', 'nud', 'permanent');
    // On one machine no NIC ever completes a checksum the kernel left partial: a veth passes the
    // partial state on, and the VXLAN payload would reach us with an unfinished inner TCP checksum.
    // A real host's NIC finishes it before the wire; here the kernel must do it in software.
    await k('ethtool', '-K', 'eth0', 'tx', 'off');
  }, 60_000);

  afterAll(() => tearDown(topo, [agent]));

  it('our container reaches the kernel peer', async () => {
    await ping(ours.netns, KERNEL_IP);
  });

  it('the kernel peer reaches our container', async () => {
    await ping(kernelNs, ours.ip);
    const stats = await agent.ctl<{ rx: { packets: number } }>('stats');
    expect(stats.rx.packets).toBeGreaterThan(0);
  });

  it('carries a 10 MB TCP transfer from the kernel side intact', async () => {
    const server = topo.spawn(ours.netns, [process.execPath, TRANSFER, 'serve', ours.ip, '5002']);
    await server.waitForLine(/listening/, 10_000);
    const sent = await nsExec(kernelNs, [process.execPath, TRANSFER, 'send', ours.ip, '5002', String(10 << 20)], { timeoutMs: 60_000 });
    expect((await server.waitForLine(/^[0-9a-f]{64} \d+$/, 30_000))[0]).toBe(sent.stdout.trim());
  }, 90_000);
});
