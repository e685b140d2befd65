/** What the Docker e2e tests do inside busybox containers: addresses, pings, transfers. */
import { expect } from 'vitest';
import type { DockerDaemon } from '../../src/testkit/dockerd.js';

/** The container's address on Docker network `network`. */
export async function containerIp(d: DockerDaemon, container: string, network: string): Promise<string> {
  return d.ok('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container);
}

/** Docker's endpoint id of the container on `network` (overlayd's endpoint `container` field). */
export async function endpointId(d: DockerDaemon, container: string, network: string): Promise<string> {
  return d.ok('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").EndpointID}}`, container);
}

/** A busybox shell loop that pings every address (a second try for a miss) and prints one line per address that did not answer. */
export function pingScript(from: string, ips: string[]): string {
  return `for ip in ${ips.join(' ')}; do ping -c 1 -W 2 $ip >/dev/null 2>&1 || ping -c 1 -W 2 $ip >/dev/null 2>&1 || echo "${from} -> $ip failed"; done`;
}

/** Pings every address once from `container`; resolves with one line per address that did not answer ('' when all did). */
export async function pingAll(d: DockerDaemon, container: string, ips: string[]): Promise<string> {
  const r = await d.docker('exec', container, 'sh', '-c', pingScript(container, ips));
  return r.code === 0 ? r.stdout.trim() : `${container}: docker exec failed: ${r.stderr.trim()}`;
}

const PORT = 5001;

/**
 * Sends a file from `from` to `to` (at `toIp`) with busybox nc over TCP and
 * checks the md5 on both sides. The file is 20 MB of random bytes unless
 * `make` (a shell pipeline writing stdout) says otherwise.
 */
export async function transfer(fd: DockerDaemon, from: string, td: DockerDaemon, to: string, toIp: string, make = 'head -c 20971520 /dev/urandom'): Promise<void> {
  const sent = (await fd.ok('exec', from, 'sh', '-c', `${make} > /tmp/blob && md5sum /tmp/blob`)).split(' ')[0];
  await td.ok('exec', to, 'rm', '-f', '/tmp/got');
  // The listener's stdin must stay open: busybox nc half-closes at stdin EOF, and the sender quits on that FIN.
  await td.ok('exec', '-d', to, 'sh', '-c', `sleep 120 | nc -l -p ${PORT} > /tmp/got`);
  await new Promise((r) => setTimeout(r, 300));
  await fd.ok('exec', from, 'sh', '-c', `nc -w 5 ${toIp} ${PORT} < /tmp/blob`);
  let got = '';
  for (let i = 0; i < 40 && got !== sent; i++) {
    got = (await td.ok('exec', to, 'sh', '-c', 'md5sum /tmp/got')).split(' ')[0];
    if (got !== sent) await new Promise((r) => setTimeout(r, 250));
  }
  const size = got === sent ? '' : (await td.ok('exec', to, 'sh', '-c', 'wc -c < /tmp/got; cat /sys/class/net/eth0/mtu')).replace(/\n/g, ' ');
  expect(got, `md5 of what ${to} received from ${from} (bytes received, mtu: ${size})`).toBe(sent);
}
