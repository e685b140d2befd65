/** The esp_sa UAT export: record format, file form, and tshark arguments. */
import { describe, expect, it } from 'vitest';
import { espSaUatFile, espSaUatRecord, SecurityAssociation, tsharkEspArgs } from '../../src/crypto/index.js';
import { parseIp } from '../../src/wire/index.js';

const sa = new SecurityAssociation({
  spi: 0x1234,
  key: Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'),
  salt: Buffer.from('a0a1a2a3', 'hex'),
  src: parseIp('198.18.0.1'),
  dst: parseIp('198.18.0.2'),
});

describe('Wireshark esp_sa export', () => {
  it('writes one quoted record: family, addresses, SPI, AES-GCM-16, key ‖ salt, no separate authentication', () => {
    expect(espSaUatRecord(sa)).toBe(
      '"IPv4","198.18.0.1","198.18.0.2","0x00001234","AES-GCM with 16 octet ICV [RFC4106]","0x000102030405060708090a0b0c0d0e0fa0a1a2a3","NULL",""',
    );
    expect(espSaUatRecord(sa, { src: parseIp('2001:db8::1'), dst: parseIp('2001:db8::2') })).toMatch(/^"IPv6","2001:db8::1","2001:db8::2",/);
  });

  it('needs addresses of one family', () => {
    const bare = new SecurityAssociation({ spi: 0x1234, key: sa.key, salt: sa.salt });
    expect(() => espSaUatRecord(bare)).toThrow(expect.objectContaining({ code: 'BAD_SA' }));
    expect(() => espSaUatRecord(sa, { dst: parseIp('2001:db8::2') })).toThrow(expect.objectContaining({ code: 'BAD_SA' }));
  });

  it('makes a UAT file and tshark options', () => {
    const file = espSaUatFile([sa, sa]);
    expect(file.split('\n').filter((l) => l.startsWith('"IPv4"')).length).toBe(2);
    expect(file.endsWith('\n')).toBe(true);
    const args = tsharkEspArgs([sa]);
    expect(args).toContain('esp.enable_encryption_decode:TRUE');
    expect(args[args.length - 1]).toBe(`uat:esp_sa:${espSaUatRecord(sa)}`);
  });
});
