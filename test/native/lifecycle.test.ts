/**
 * NativeDatapath lifecycle and the addon's error contract: loading, start /
 * stop / restart on loopback, attaching and detaching a TAP (created in the
 * test's own namespace-free scope with the run prefix, never brought up, so
 * it carries no traffic), and errno-named errors from tapOpen.
 */
import { execFileSync } from 'node:child_process';
import { closeSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../src/dataplane/addon.js';
import { NativeDatapath, NativeDatapathError } from '../../src/dataplane/native.js';
import { COUNTER_SLOTS } from '../../src/dataplane/datapath.js';
import { haveRoot, haveTool, requirement } from '../../src/testkit/ci.js';
import { runPrefix } from '../../src/testkit/run.js';
import { haveAddon } from './support.js';

const tapName = `${runPrefix()}lt`;
const deleteTap = (): void => {
  try {
    execFileSync('ip', ['link', 'del', tapName], { stdio: 'ignore' });
  } catch {
    // not there
  }
};

describe.skipIf(!haveAddon())('native addon', () => {
  it('loads with the counter layout of datapath.ts and says whether it is supported', () => {
    const addon = loadAddon();
    expect(addon.counterSlots).toBe(COUNTER_SLOTS);
    expect(addon.supported).toBe(process.platform === 'linux');
    if (!addon.supported) expect(addon.unsupportedReason).toMatch(/Linux/);
  });

  it('rejects bad constructor arguments with typed errors', () => {
    expect(() => new NativeDatapath({ bindAddress: 'nowhere', dataPort: 4789 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => new NativeDatapath({ bindAddress: '127.0.0.1', dataPort: 70000 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  it('starts, stops and restarts on loopback; a taken port is an EADDRINUSE error', async () => {
    const dp = new NativeDatapath({ bindAddress: '127.0.0.1', dataPort: 0, sourcePorts: 2 });
    await dp.start();
    expect(dp.dataPort).toBeGreaterThan(0);
    const other = new NativeDatapath({ bindAddress: '127.0.0.1', dataPort: dp.dataPort });
    await expect(other.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await dp.stop();
    await other.start(); // the port is free again
    await other.stop();
    await dp.start();
    await dp.stop();
  });

  it('binds an IPv6 underlay address', async () => {
    const dp = new NativeDatapath({ bindAddress: '::1', dataPort: 0 });
    await dp.start();
    expect(dp.dataPort).toBeGreaterThan(0);
    await dp.stop();
  });

  it('setCapture on a network that is not attached is a typed error', () => {
    const dp = new NativeDatapath({ bindAddress: '127.0.0.1', dataPort: 0 });
    expect(() => dp.setCapture(77, () => undefined)).toThrow(NativeDatapathError);
  });
});

describe.skipIf(!(haveAddon() && requirement(haveRoot() && haveTool('ip'), 'needs root and ip')))('native TAP attachment', () => {
  afterAll(deleteTap);

  it('opens a persistent TAP, refuses a second attachment with EBUSY, and re-attaches after detaching', async () => {
    const dp = new NativeDatapath({ bindAddress: '127.0.0.1', dataPort: 0 });
    await dp.start();
    dp.addNetwork({ vni: 4096, tapName, mtu: 1450 });
    expect(() => dp.addNetwork({ vni: 4096, tapName, mtu: 1450 })).toThrow(expect.objectContaining({ code: 'ERR_NETWORK_EXISTS' }));
    expect(() => loadAddon().tapOpen(tapName, { vnetHdr: true })).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    dp.removeNetwork(4096);
    expect(execFileSync('ip', ['-o', 'link', 'show', tapName], { encoding: 'utf8' })).toContain(tapName); // persistent
    dp.addNetwork({ vni: 4096, tapName, mtu: 1450 }); // re-attach
    await dp.stop();
    dp.removeNetwork(4096);
    const fd = loadAddon().tapOpen(tapName, {}); // blocking, no vnet header: what the TypeScript path uses
    expect(fd).toBeGreaterThan(2);
    // The offloads the fast path turned on are off again: without a vnet header no TSO frame may arrive.
    if (haveTool('ethtool')) expect(execFileSync('ethtool', ['-k', tapName], { encoding: 'utf8' })).toMatch(/tcp-segmentation-offload: off/);
    closeSync(fd);
    execFileSync('ip', ['link', 'del', tapName]);
  });

  it('reports a bad TAP name as EINVAL', () => {
    expect(() => loadAddon().tapOpen('x'.repeat(16), {})).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
