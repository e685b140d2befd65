import { afterEach, describe, expect, it } from 'vitest';
import { NetTransport } from '../../src/gossip/net-transport.js';
import type { InboundPacket, StreamConn } from '../../src/gossip/transport.js';
import { haveIpv6Loopback } from './helpers.js';
import { requirement } from '../../src/testkit/ci.js';

const haveV6 = requirement(haveIpv6Loopback(), 'IPv6 on the loopback interface');

const open: NetTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.shutdown()));
});

async function listen(bindAddr: string, bindPort = 0): Promise<NetTransport> {
  const t = await NetTransport.listen({ bindAddr, bindPort });
  open.push(t);
  return t;
}

describe('NetTransport on loopback', () => {
  for (const host of ['127.0.0.1', '::1']) {
    it.skipIf(host === '::1' && !haveV6)(`moves datagrams and streams over ${host}`, async () => {
      const a = await listen(host);
      const b = await listen(host);
      expect(a.port).toBeGreaterThan(0);
      expect(a.finalAdvertiseAddr(undefined, undefined)).toEqual({ ip: host, port: a.port });
      const got: InboundPacket[] = [];
      b.onPacket((p) => got.push(p));
      const target = host.includes(':') ? `[${host}]:${b.port}` : `${host}:${b.port}`;
      await a.writeTo(Buffer.from('hello'), target);
      const accepted: StreamConn[] = [];
      b.onStream((c) => { accepted.push(c); c.on('data', (d: Buffer) => c.end(Buffer.concat([Buffer.from('echo:'), d]))); });
      const conn = await a.dialTimeout(target, 2_000);
      const reply: Buffer[] = [];
      const done = new Promise<void>((resolve) => conn.on('end', () => resolve()));
      conn.on('data', (d: Buffer) => reply.push(d));
      conn.write(Buffer.from('ping'));
      await done;
      expect(Buffer.concat(reply).toString()).toBe('echo:ping');
      for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(got.map((p) => p.buf.toString())).toEqual(['hello']);
      expect(got[0]!.from).toBe(host.includes(':') ? `[${host}]:${a.port}` : `${host}:${a.port}`);
      expect(accepted.length).toBe(1);
    });
  }

  it('reports a taken port with a stable code and refuses to work after shutdown', async () => {
    const a = await listen('127.0.0.1');
    await expect(NetTransport.listen({ bindAddr: '127.0.0.1', bindPort: a.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await expect(NetTransport.listen({ bindAddr: 'not-an-ip', bindPort: 0 })).rejects.toMatchObject({ code: 'EINVAL' });
    await a.shutdown();
    await expect(a.writeTo(Buffer.from('x'), '127.0.0.1:9')).rejects.toMatchObject({ code: 'ESHUTDOWN' });
    await expect(a.dialTimeout('127.0.0.1:9', 100)).rejects.toMatchObject({ code: 'ESHUTDOWN' });
  });
});
