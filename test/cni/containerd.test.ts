/**
 * A real CNI runtime: containerd on namespace host 1 runs a busybox
 * container with `ctr run --cni`, the conflist naming overlayd-cni (put in
 * place by `overlayctl cni install`). The container pings an endpoint on
 * host 2 over the overlayd network and host 2 pings it back; once its task
 * has died, ctr's DEL (which comes without CNI_NETNS) removes the endpoint
 * from every agent and its veth from the host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Topology, type ContainerNamespace } from '../../src/testkit/topology.js';
import { requirement } from '../../src/testkit/ci.js';
import { ping, run, startCluster, tearDown, waitFor, type AgentHandle, type Endpoint } from '../../src/testkit/agents.js';
import { busyboxRootfs, ContainerdHost, CONTAINERD_TOOLS, haveContainerd, writeConflist, type CniSetup } from '../../src/testkit/containerd.js';

const ready = requirement(haveContainerd(), `containerd e2e needs root and ${CONTAINERD_TOOLS.join(', ')} (apt-get install containerd busybox-static)`);
const SUBNET = '198.19.62.0/24';

describe.skipIf(!ready)('ctr run --cni with overlayd-cni on a namespace host', () => {
  let topo: Topology;
  let agents: AgentHandle[] = [];
  let containerd: ContainerdHost | undefined;
  let dir: string;
  let cni: CniSetup;
  let remote: Endpoint;
  let remoteNs: ContainerNamespace;

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 2 });
    agents = await startCluster(topo, { datapath: 'native' }, [1, 2]);
    await agents[0].ctl('network', 'create', 'green', '--subnet', SUBNET);
    await waitFor('green on node2', async () => (await agents[1].ctl<unknown[]>('network', 'ls')).length === 1, 10_000);
    remoteNs = await topo.container(2, 'remote');
    remote = await agents[1].ctl<Endpoint>('endpoint', 'attach', 'green', '--netns', remoteNs.ns);
    await waitFor('the remote endpoint on node1', async () => (await agents[0].ctl<Endpoint[]>('endpoint', 'ls')).some((e) => e.id === remote.id), 10_000);
    dir = mkdtempSync(join(tmpdir(), `${topo.prefix}-cni-`));
    cni = writeConflist(dir, 'green', { socket: agents[0].socket });
    containerd = await ContainerdHost.start(topo, 1);
  }, 120_000);

  afterAll(async () => {
    await containerd?.stop();
    await tearDown(topo, agents);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('overlayctl cni install puts the plugin in a directory', async () => {
    const r = await agents[0].ctl<{ installed: string }>('cni', 'install', '--dir', cni.binDir);
    expect(r.installed).toBe(join(cni.binDir, 'overlayd-cni'));
    const version = await run(['ip', 'netns', 'exec', topo.host(1).ns, 'env', 'CNI_COMMAND=VERSION', r.installed]);
    expect(JSON.parse(version.stdout)).toMatchObject({ supportedVersions: ['1.0.0', '1.1.0'] });
  });

  it('a busybox container pings across hosts; its DEL after the task dies removes the endpoint everywhere', async () => {
    const rootfs = busyboxRootfs(dir);
    const script = `PATH=/bin; ip -o -4 addr show eth0; ping -c 3 -W 2 ${remote.ip}; echo ping-exit=$?; while [ ! -e /stop ]; do sleep 1; done`;
    const ctr = containerd!.runWithCni('bb1', rootfs, cni, ['/bin/sh', '-c', script]);
    const exit = await ctr.waitForLine(/ping-exit=(\d+)/, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\ncontainerd:\n${containerd!.log()}`);
    });
    expect(exit[1], ctr.log()).toBe('0');
    expect(ctr.log()).toMatch(/3 packets transmitted, 3 packets received/);

    const container = `${containerd!.namespace}-bb1`;
    const mine = (e: Endpoint) => e.runtime === 'cni' && e.container === container;
    const ep = await waitFor('the container\'s endpoint on node2', async () => (await agents[1].ctl<Endpoint[]>('endpoint', 'ls', 'green')).find(mine), 5_000);
    expect(ep).toMatchObject({ node: 'node1', ifname: 'eth0', netns: expect.stringMatching(/^\/proc\/\d+\/ns\/net$/) });
    expect(ctr.log()).toContain(`inet ${ep.ip}/24`);
    await ping(remoteNs.ns, ep.ip);

    writeFileSync(join(rootfs, 'stop'), '');
    const status = await Promise.race([ctr.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000))]);
    expect(status, `ctr did not end:\n${ctr.log()}`).toMatchObject({ code: 0 });
    for (const a of agents) {
      await waitFor(`the endpoint gone on ${a.name}`, async () => !(await a.ctl<Endpoint[]>('endpoint', 'ls', 'green')).some(mine), 5_000);
    }
    const links = (await run(['ip', 'netns', 'exec', topo.host(1).ns, 'ip', '-o', 'link', 'show'])).stdout;
    expect(links).not.toContain(`vo${ep.id.slice(0, 12)}`);
  });
});
