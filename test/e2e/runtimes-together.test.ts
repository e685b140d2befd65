/**
 * Docker and containerd on one overlayd network (issue 11). Three namespace
 * hosts, an agent on each, one cluster; hosts 1 and 2 run their own dockerd
 * with `overlayd --docker-plugin` (src/testkit/dockerd.ts) — the one-process
 * set-up, the agent hosting the same plugin overlayd-docker-plugin is (which
 * docker.test.ts runs) — and host 3 runs containerd with overlayd-cni
 * (src/testkit/containerd.ts).
 *
 * Shown: `docker network create … -o name=mixed` on hosts 1 and 2 and a
 * conflist on host 3 whose `network` is `mixed` are one overlay; a busybox
 * container on each Docker host and a `ctr run --cni` container on host 3 get
 * three distinct addresses without any given, and every pair pings both ways
 * (docker exec, ctr task exec); every agent's `endpoint ls` shows all three
 * with runtime docker / cni and the runtime's id (for Docker its endpoint id:
 * libnetwork never tells a driver the container id, docs/docker.md); once the
 * containerd task has ended, ctr's DEL takes its endpoint out of the Docker
 * hosts' FDB within seconds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Topology } from '../../src/testkit/topology.js';
import { requirement } from '../../src/testkit/ci.js';
import { startCluster, tearDown, waitFor, type AgentHandle, type Endpoint } from '../../src/testkit/agents.js';
import { BUSYBOX_IMAGE, dockerPluginArgs, haveDocker, startDockerHosts, type DockerDaemon } from '../../src/testkit/dockerd.js';
import { busyboxRootfs, ContainerdHost, CONTAINERD_TOOLS, haveContainerd, writeConflist, type CniSetup } from '../../src/testkit/containerd.js';
import type { ManagedProcess } from '../../src/testkit/process.js';
import { containerIp, endpointId, pingAll, pingScript } from './docker-support.js';

const ready = requirement(
  haveContainerd() && haveDocker(),
  `runtimes e2e needs root, docker.io (/usr/bin/docker, dockerd), ${CONTAINERD_TOOLS.join(', ')} (apt-get install docker.io containerd busybox-static)`,
);
const SUBNET = '198.19.71.0/24';
const NET = 'mixed';
const DOCKER_HOSTS = [1, 2];
const CNI_HOST = 3;
/** The Docker containers, by Docker host (daemons[i] runs NAMES[i]); the ctr container is CTR_ID. */
const NAMES = ['ca', 'cb'];
const CTR_ID = 'cc';

interface FdbRow {
  network: string;
  mac: string;
  ip?: string;
  node?: string;
}

describe.skipIf(!ready)('Docker on two hosts and containerd on a third, on one overlayd network', () => {
  let topo: Topology | undefined;
  let agents: AgentHandle[] = [];
  let daemons: DockerDaemon[] = [];
  let containerd: ContainerdHost | undefined;
  let ctr: ManagedProcess | undefined;
  let cni: CniSetup;
  let rootfs: string;
  const base = mkdtempSync(join(tmpdir(), 'ovt-mixed-'));
  /** The three containers' addresses: Docker host 1, Docker host 2, containerd. */
  const ips: string[] = [];

  /** Pings every address of `targets` from the ctr container (ctr task exec); '' when all answered. */
  const ctrPing = async (targets: string[]): Promise<string> => {
    const r = await containerd!.exec(CTR_ID, ['/bin/sh', '-c', pingScript(CTR_ID, targets)]);
    return r.code === 0 ? r.stdout.trim() : `${CTR_ID}: ctr task exec failed (${r.code}): ${r.stderr.trim()}`;
  };
  const cniEndpoint = async (a: AgentHandle) => (await a.ctl<Endpoint[]>('endpoint', 'ls', NET)).find((e) => e.runtime === 'cni');

  beforeAll(async () => {
    topo = await Topology.create({ hosts: 3 });
    const hostArgs = (i: number) => (DOCKER_HOSTS.includes(i) ? dockerPluginArgs(base, i) : []);
    agents = await startCluster(topo, { datapath: 'native', hostArgs }, [1, 2, CNI_HOST]);
    // Both runtimes start at once; each handle is kept as soon as it exists, so afterAll stops it whatever else failed.
    const started = await Promise.allSettled([
      startDockerHosts(topo, base, DOCKER_HOSTS).then((d) => (daemons = d)),
      ContainerdHost.start(topo, CNI_HOST).then((c) => (containerd = c)),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
  }, 120_000);

  afterAll(async () => {
    await containerd?.stop(); // kills the task if it still runs; ctr then calls DEL and exits
    await ctr?.stop('SIGKILL', 2000);
    const stopDocker = async (d: DockerDaemon, i: number): Promise<void> => {
      await d.docker('rm', '-f', NAMES[i]); // before dockerd's shutdown, which would give `sleep` 10 s to obey SIGTERM
      await d.stop();
    };
    await Promise.all(daemons.map(stopDocker));
    await tearDown(topo, agents);
    rmSync(base, { recursive: true, force: true });
  }, 90_000);

  it('docker network create -o name=mixed on hosts 1 and 2 and a conflist naming mixed on host 3 are one overlayd network', async () => {
    const create = ['network', 'create', '-d', 'overlayd', '--ipam-driver', 'overlayd', '--subnet', SUBNET, '-o', `name=${NET}`, NET];
    const networks = async (a: AgentHandle) => (await a.ctl<{ name: string; subnets: string[] }[]>('network', 'ls')).map((n) => `${n.name} ${n.subnets.join(',')}`);
    await daemons[0].ok(...create);
    for (const a of agents) await waitFor(`${NET} on ${a.name}`, async () => (await networks(a)).length > 0, 10_000);
    await daemons[1].ok(...create); // found by its subnet: the same overlay, not a second one
    for (const a of agents) expect(await networks(a)).toEqual([`${NET} ${SUBNET}`]);

    cni = writeConflist(base, 'runtimes', { socket: agents[2].socket, network: NET });
    await agents[2].ctl('cni', 'install', '--dir', cni.binDir);
    rootfs = busyboxRootfs(base);
  });

  it('a busybox container on each Docker host and a ctr run --cni container on host 3 get three distinct addresses, none given', async () => {
    await Promise.all(daemons.map((d, i) => d.ok('run', '-d', '--name', NAMES[i], '--network', NET, BUSYBOX_IMAGE, 'sleep', '3600')));
    ips.push(...(await Promise.all(daemons.map((d, i) => containerIp(d, NAMES[i], NET)))));
    const script = 'PATH=/bin; ip -o -4 addr show eth0; echo started; while [ ! -e /stop ]; do sleep 1; done';
    ctr = containerd!.runWithCni(CTR_ID, rootfs, cni, ['/bin/sh', '-c', script]);
    await ctr.waitForLine(/^started$/, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\nctr:\n${ctr!.log()}\ncontainerd:\n${containerd!.log()}`);
    });
    const ep = await waitFor('the ctr container\'s endpoint on host 3', () => cniEndpoint(agents[2]), 5_000);
    expect(ctr.log()).toContain(`inet ${ep.ip}/24`);
    ips.push(ep.ip);
    expect(new Set(ips).size, ips.join(' ')).toBe(3);
    for (const ip of ips) expect(ip).toMatch(/^198\.19\.71\.\d+$/);
  });

  it('every pair pings both ways (docker exec, ctr task exec)', async () => {
    const others = (i: number) => ips.filter((_, j) => j !== i);
    const failures = await Promise.all([...daemons.map((d, i) => pingAll(d, NAMES[i], others(i))), ctrPing(others(2))]);
    expect(failures.filter(Boolean)).toEqual([]);
  });

  it('overlayctl endpoint ls on every host shows all three, with runtime docker / cni and the runtime\'s id', async () => {
    const ids = await Promise.all(daemons.map((d, i) => endpointId(d, NAMES[i], NET)));
    const want = [
      { runtime: 'docker', container: ids[0], ip: ips[0], node: agents[0].name },
      { runtime: 'docker', container: ids[1], ip: ips[1], node: agents[1].name },
      { runtime: 'cni', container: `${containerd!.namespace}-${CTR_ID}`, ip: ips[2], node: agents[2].name },
    ];
    const shown = async (a: AgentHandle) =>
      (await a.ctl<Endpoint[]>('endpoint', 'ls')).map(({ runtime, container, ip, node }) => ({ runtime, container, ip, node })).sort((x, y) => x.ip.localeCompare(y.ip));
    const sorted = [...want].sort((x, y) => x.ip.localeCompare(y.ip));
    for (const a of agents) {
      await waitFor(`three endpoints on ${a.name}`, async () => (await shown(a)).length === 3, 5_000);
      expect(await shown(a), a.name).toEqual(sorted);
    }
  });

  it('when the containerd task ends, its DEL takes the endpoint out of the Docker hosts\' FDB within seconds', async () => {
    const ep = (await cniEndpoint(agents[2]))!;
    const fdb = (a: AgentHandle) => a.ctl<FdbRow[]>('fdb', NET);
    const dockerAgents = agents.slice(0, DOCKER_HOSTS.length);
    for (const a of dockerAgents) expect((await fdb(a)).filter((r) => r.mac === ep.mac), a.name).toHaveLength(1);

    writeFileSync(join(rootfs, 'stop'), '');
    const status = await Promise.race([ctr!.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000))]);
    expect(status, `ctr did not end:\n${ctr!.log()}`).toMatchObject({ code: 0 }); // it exits once DEL has returned
    const deleted = Date.now();
    for (const a of dockerAgents) {
      await waitFor(`${ep.mac} gone from ${a.name}'s FDB`, async () => !(await fdb(a)).some((r) => r.mac === ep.mac || r.ip === ep.ip), 5_000);
    }
    console.log(`the ctr container's FDB entries left both Docker hosts ${Date.now() - deleted} ms after ctr's DEL`);
    for (const a of agents) expect(await cniEndpoint(a), a.name).toBeUndefined();
    // The Docker containers keep talking to each other.
    expect(await pingAll(daemons[0], NAMES[0], [ips[1]])).toBe('');
  });
});
