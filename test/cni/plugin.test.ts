/**
 * The CNI plugin's front door without an agent: every command's environment
 * and configuration checks, with the spec's codes and one clear message,
 * VERSION, and what an absent agent means per command (11, STATUS 50).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/cni/config.js';
import { installPlugin, wrapperScript } from '../../src/cni/install.js';
import { runPlugin } from '../../src/cni/plugin.js';
import { addResult } from '../../src/cni/result.js';

const NO_AGENT = '/nonexistent/ovt-cni.sock';
const conf = (extra: Record<string, unknown> = {}, version = '1.0.0') =>
  JSON.stringify({ cniVersion: version, name: 'blue', type: 'overlayd-cni', socket: NO_AGENT, ...extra });
const env = (command: string, extra: Record<string, string> = {}) => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: 'default-c1',
  CNI_NETNS: '/proc/self/ns/net',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
  ...extra,
});

/** Runs the plugin and parses what it printed. */
async function call(e: Record<string, string | undefined>, stdin: string) {
  const out = await runPlugin(e, async () => stdin);
  return { exitCode: out.exitCode, doc: out.stdout === '' ? undefined : (JSON.parse(out.stdout) as Record<string, unknown>) };
}

describe('overlayd-cni without an agent', () => {
  it('VERSION answers 1.0.0 and 1.1.0 without reading stdin', async () => {
    const out = await runPlugin({ CNI_COMMAND: 'VERSION' }, () => Promise.reject(new Error('stdin must not be read')));
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: '1.1.0', supportedVersions: ['1.0.0', '1.1.0'] });
  });

  const bad: [string, Record<string, string | undefined>, string, number, RegExp][] = [
    ['no CNI_COMMAND', { ...env('ADD'), CNI_COMMAND: undefined }, conf(), 4, /^CNI_COMMAND is not set$/],
    ['an unknown CNI_COMMAND', env('ATTACH'), conf(), 4, /CNI_COMMAND "ATTACH" is not one of ADD, DEL/],
    ['ADD without CNI_CONTAINERID', env('ADD', { CNI_CONTAINERID: '' }), conf(), 4, /^CNI_CONTAINERID is not set \(ADD needs it\)$/],
    ['ADD without CNI_NETNS', env('ADD', { CNI_NETNS: '' }), conf(), 4, /^CNI_NETNS is not set/],
    ['CHECK without CNI_IFNAME', env('CHECK', { CNI_IFNAME: '' }), conf(), 4, /^CNI_IFNAME is not set/],
    ['DEL without CNI_PATH', env('DEL', { CNI_PATH: '' }), conf(), 4, /^CNI_PATH is not set/],
    ['a container id with a slash', env('ADD', { CNI_CONTAINERID: 'a/b' }), conf(), 4, /CNI_CONTAINERID "a\/b" has characters/],
    ['an interface name of 16 characters', env('ADD', { CNI_IFNAME: 'eth0123456789012' }), conf(), 4, /CNI_IFNAME "eth0123456789012" is not an interface name/],
    ['a relative CNI_NETNS', env('ADD', { CNI_NETNS: 'ns1' }), conf(), 4, /CNI_NETNS "ns1" is not a path/],
    ['a CNI_NETNS that does not exist', env('ADD', { CNI_NETNS: '/proc/0/ns/net' }), conf(), 4, /^CNI_NETNS \/proc\/0\/ns\/net does not exist$/],
    ['a malformed CNI_ARGS', env('ADD', { CNI_ARGS: 'IgnoreUnknown' }), conf(), 4, /CNI_ARGS pair "IgnoreUnknown" is not KEY=VALUE/],
    ['empty stdin', env('ADD'), '', 6, /^no network configuration on stdin$/],
    ['stdin that is not JSON', env('ADD'), '{"cniVersion": "1.0.0",', 6, /^the network configuration on stdin is not JSON$/],
    ['stdin that is a JSON list', env('ADD'), '[]', 6, /not a JSON object/],
    ['a configuration without cniVersion', env('ADD'), JSON.stringify({ name: 'blue' }), 7, /"cniVersion" is missing/],
    ['an old cniVersion', env('ADD'), conf({}, '0.4.0'), 1, /^incompatible CNI version: the configuration has 0\.4\.0, overlayd-cni speaks 1\.0\.0 and 1\.1\.0$/],
    ['STATUS with cniVersion 1.0.0', env('STATUS'), conf(), 1, /^STATUS needs CNI 1\.1\.0/],
    ['GC with cniVersion 1.0.0', env('GC'), conf(), 1, /^GC needs CNI 1\.1\.0/],
    ['a name with a space', env('ADD'), conf({ name: 'b lue' }), 7, /"name" must be a network name/],
    ['a relative socket', env('ADD'), conf({ socket: 'overlayd.sock' }), 7, /"socket" must be the absolute path/],
    ['an ip that is no address', env('ADD'), conf({ ip: '198.19.1.300' }), 7, /"ip" must be an IPv4 or IPv6 address/],
    ['an ip with a prefix', env('ADD'), conf({ ip: '198.19.1.3/24' }), 7, /"ip" must be an IPv4 or IPv6 address without a prefix/],
    ['an ipam section', env('ADD'), conf({ ipam: { type: 'host-local' } }), 7, /"ipam" is not supported/],
    ['a list without our plugin', env('ADD'), JSON.stringify({ cniVersion: '1.0.0', name: 'blue', plugins: [{ type: 'bridge' }] }), 7, /exactly one plugin of type "overlayd-cni" \(it holds 0\)/],
    ['GC without valid-attachments', env('GC'), conf({}, '1.1.0'), 7, /GC needs "cni\.dev\/valid-attachments"/],
    ['malformed valid-attachments', env('GC'), conf({ 'cni.dev/valid-attachments': [{ containerID: 1 }] }, '1.1.0'), 7, /must be a list of/],
    ['ADD while the agent is down', env('ADD'), conf(), 11, /^the overlayd agent is not reachable: no agent is listening on \/nonexistent\/ovt-cni\.sock$/],
    ['DEL while the agent is down', env('DEL', { CNI_NETNS: '' }), conf(), 11, /not reachable/],
    ['CHECK while the agent is down', env('CHECK'), conf(), 11, /not reachable/],
    ['GC while the agent is down', env('GC'), conf({ 'cni.dev/valid-attachments': [] }, '1.1.0'), 11, /not reachable/],
    ['STATUS while the agent is down', env('STATUS'), conf({}, '1.1.0'), 50, /^the overlayd agent is not reachable/],
  ];

  it.each(bad)('refuses %s with its code and one message', async (_what, e, stdin, code, msg) => {
    const { exitCode, doc } = await call(e, stdin);
    expect(exitCode).toBe(1);
    expect(doc).toMatchObject({ code });
    expect(doc!.msg).toMatch(msg);
    expect(String(doc!.msg)).not.toContain('\n');
    expect(typeof doc!.cniVersion).toBe('string');
  });

  it('answers errors in the configuration\'s version', async () => {
    const { doc } = await call(env('ADD'), conf({}, '1.1.0'));
    expect(doc).toMatchObject({ cniVersion: '1.1.0', code: 11 });
  });
});

describe('network configuration', () => {
  it('takes a single plugin configuration; network defaults to the name, socket to the agent\'s', () => {
    expect(parseConfig(JSON.stringify({ cniVersion: '1.1.0', name: 'blue', type: 'overlayd-cni' }))).toEqual({
      cniVersion: '1.1.0',
      name: 'blue',
      network: 'blue',
      socket: '/run/overlayd/overlayd.sock',
    });
  });

  it('takes a whole list and uses its overlayd-cni entry', () => {
    const list = { cniVersion: '1.0.0', name: 'k8s', plugins: [{ type: 'overlayd-cni', network: 'blue', ip: '198.19.1.9', socket: '/s' }, { type: 'portmap' }] };
    expect(parseConfig(JSON.stringify(list))).toEqual({ cniVersion: '1.0.0', name: 'k8s', network: 'blue', socket: '/s', ip: '198.19.1.9' });
  });

  it('reads GC\'s valid attachments', () => {
    const c = parseConfig(conf({ 'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: 'eth0', extra: 1 }] }, '1.1.0'));
    expect(c.validAttachments).toEqual([{ containerID: 'c1', ifname: 'eth0' }]);
  });
});

describe('ADD result', () => {
  it('one container interface with sandbox and MTU, addresses with prefixes pointing at it, the subnet routes, no gateway', () => {
    const network = { name: 'blue', vni: 4096, subnets: ['198.19.1.0/24', '2001:db8:1::/64'], mtu: 1450, encrypted: false };
    const ep = { id: 'e1', network: 'blue', ip: '198.19.1.2', ips: ['198.19.1.2', '2001:db8:1::2'], mac: '02:42:c6:13:01:02', ifname: 'eth0', netns: '/proc/1/ns/net', node: 'n1', runtime: 'cni' as const };
    expect(addResult('1.1.0', network, ep, '/proc/1/ns/net')).toEqual({
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', mac: '02:42:c6:13:01:02', mtu: 1450, sandbox: '/proc/1/ns/net' }],
      ips: [
        { address: '198.19.1.2/24', interface: 0 },
        { address: '2001:db8:1::2/64', interface: 0 },
      ],
      routes: [{ dst: '198.19.1.0/24' }, { dst: '2001:db8:1::/64' }],
    });
  });
});

describe('overlayctl cni install', () => {
  it('writes an executable wrapper that execs node on the entry, replacing an older one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovt-cni-install-'));
    try {
      const entry = join(dir, "it's.js");
      expect(() => installPlugin({ dir: join(dir, 'bin'), entry })).toThrow(/does not exist: build overlayd first/);
      writeFileSync(entry, '// the entry point: install checks only that it exists\n');
      const path = installPlugin({ dir: join(dir, 'bin'), entry, node: '/usr/bin/node' });
      expect(path).toBe(join(dir, 'bin', 'overlayd-cni'));
      expect(statSync(path).mode & 0o777).toBe(0o755);
      expect(readFileSync(path, 'utf8')).toBe(wrapperScript('/usr/bin/node', entry));
      expect(wrapperScript('/usr/bin/node', entry)).toContain(`exec '/usr/bin/node' '${dir}/it'\\''s.js' "$@"`);
      installPlugin({ dir: join(dir, 'bin'), entry, node: '/usr/bin/node' });
      expect(() => installPlugin({ dir: '/proc/ovt-no-such/bin', entry })).toThrow(/^cannot install into \/proc\/ovt-no-such\/bin: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
