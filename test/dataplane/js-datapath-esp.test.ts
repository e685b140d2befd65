/**
 * The encrypted members of JsDatapath that need no TAP: refusals, the ESP
 * port, and processEsp/securityAssociations before any network.
 */
import { describe, expect, it } from 'vitest';
import { generateNetworkKey } from '../../src/crypto/index.js';
import { EspPlanError } from '../../src/dataplane/esp-plan.js';
import { JsDatapath } from '../../src/dataplane/js-datapath.js';

const ENC = { carrier: 'udp' as const, keySize: 16 as const, esn: true };
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return err instanceof EspPlanError ? err.code : `not an EspPlanError: ${String(err)}`;
  }
  return undefined;
};

describe('JsDatapath: encrypted networks without I/O', () => {
  it('refuses an encrypted network when its VTEP address is a wildcard and none is given, before opening a TAP', () => {
    const dp = new JsDatapath({ bindAddress: '0.0.0.0', dataPort: 0 });
    expect(codeOf(() => dp.addNetwork({ vni: 4096, tapName: 'ovtnotatap', mtu: 1408, encryption: ENC }))).toBe('NO_VTEP_ADDRESS');
  });

  it('refuses keys for a network that is not encrypted', () => {
    const dp = new JsDatapath({ bindAddress: '127.0.0.1', dataPort: 0 });
    expect(codeOf(() => dp.setKeys(4096, { keys: [generateNetworkKey(1)], sendTag: 1 }))).toBe('NOT_ENCRYPTED');
    expect(dp.securityAssociations()).toEqual([]);
  });

  it('counts ESP from nowhere as esp_bad_spi and short packets as esp_truncated', () => {
    const dp = new JsDatapath({ bindAddress: '127.0.0.1', dataPort: 0 });
    expect(dp.processEsp('127.0.0.2', Buffer.alloc(40, 1)).drop).toBe('esp_bad_spi');
    expect(dp.processEsp('127.0.0.2', Buffer.alloc(3)).drop).toBe('esp_truncated');
    expect(dp.counters().drops).toMatchObject({ esp_bad_spi: 1, esp_truncated: 1 });
  });

  it('binds the ESP-in-UDP port on start (0 picks one) and reports 0 again after stop', async () => {
    const dp = new JsDatapath({ bindAddress: '127.0.0.1', dataPort: 0, espPort: 0, sourcePorts: 1 });
    expect(dp.espPort).toBe(0);
    await dp.start();
    try {
      expect(dp.espPort).toBeGreaterThan(0);
    } finally {
      await dp.stop();
    }
    expect(dp.espPort).toBe(0);
  });
});
