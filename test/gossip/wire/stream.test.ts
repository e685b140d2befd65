/**
 * Stream exchanges over real TCP on 127.0.0.1: a labelled, encrypted,
 * compressed push/pull both ways, and the refusals — stalled peer (TIMEOUT),
 * oversized state (TOO_LARGE), early close (TRUNCATED), wrong label.
 */
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeBody,
  encodeMessage,
  encodeStreamMessage,
  Keyring,
  MessageType,
  openStream,
  socketReader,
  type OpenStreamOptions,
  type PushNodeState,
  type PushPullHeader,
  type StreamEncodeOptions,
} from '../../../src/gossip/wire/index.js';
import { codeOfAsync } from './refusals.js';

const keyring = new Keyring([], Buffer.alloc(32, 9));
const limits = { maxBytes: 1 << 20, timeoutMs: 2000 };
const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

function pushPull(names: string[], join: boolean): Buffer {
  const header: PushPullHeader = { Nodes: names.length, UserStateLen: 3, Join: join };
  const states = names.map((Name, i) =>
    encodeBody('PushNodeState', { Name, Addr: Buffer.from([198, 18, 0, i]), Port: 7946, Meta: Buffer.alloc(0), Incarnation: i, State: 0, Vsn: Buffer.from([1, 5, 2, 0, 0, 0]) }),
  );
  return Buffer.concat([encodeMessage(MessageType.PushPull, header), ...states, Buffer.from('abc')]);
}

async function readPushPull(socket: Socket, opts: OpenStreamOptions): Promise<{ join: boolean; names: string[]; user: string }> {
  const reader = socketReader(socket, limits);
  try {
    const stream = await openStream(reader, opts);
    expect(await stream.readByte()).toBe(MessageType.PushPull);
    const header = await stream.readBody<PushPullHeader>(MessageType.PushPull);
    const names: string[] = [];
    for (let i = 0; i < header.Nodes; i++) names.push((await stream.readBody<PushNodeState>('PushNodeState')).Name);
    return { join: header.Join, names, user: (await stream.readBytes(header.UserStateLen)).toString() };
  } finally {
    reader.dispose();
  }
}

/** A listening server on 127.0.0.1 whose connections go to `onConn`; returns a connected client. */
async function pair(onConn: (s: Socket) => void): Promise<Socket> {
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    onConn(s);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  client.on('error', () => undefined);
  sockets.push(client);
  await once(client, 'connect');
  return client;
}

describe('stream exchanges over TCP', () => {
  it('push/pull both ways: label from the dialer, encryption and compression each way', async () => {
    const framing = { compress: true, crc: false, encryptionEnabled: true, keyring, label: 'blue' } satisfies StreamEncodeOptions;
    const serverSaw: Array<Awaited<ReturnType<typeof readPushPull>>> = [];
    const client = await pair((s) => {
      void readPushPull(s, { keyring, label: 'blue', expectLabel: true }).then((got) => {
        serverSaw.push(got);
        s.write(encodeStreamMessage(pushPull(['srv-1', 'srv-2'], got.join), framing));
      });
    });
    const names = Array.from({ length: 150 }, (_, i) => `cli-${i}`);
    client.write(encodeStreamMessage(pushPull(names, true), { ...framing, dialer: true }));
    const answer = await readPushPull(client, { keyring, label: 'blue', expectLabel: false });
    expect(serverSaw).toEqual([{ join: true, names, user: 'abc' }]);
    expect(answer).toEqual({ join: true, names: ['srv-1', 'srv-2'], user: 'abc' });
  });

  it('a stalled peer ends in TIMEOUT, not a hung read', async () => {
    let code: Promise<string> | undefined;
    const client = await pair((s) => {
      code = codeOfAsync(openStream(socketReader(s, { maxBytes: 1 << 20, timeoutMs: 150 }), { keyring, expectLabel: true }));
    });
    client.write(Buffer.from([MessageType.Encrypt, 0, 0])); // then nothing
    await expect.poll(() => code !== undefined).toBe(true);
    expect(await code).toBe('TIMEOUT');
  });

  it('refuses state over 20 MiB before reading it', async () => {
    let code: Promise<string> | undefined;
    const client = await pair((s) => {
      code = codeOfAsync(openStream(socketReader(s, limits), { keyring, expectLabel: true }));
    });
    client.write(Buffer.from([MessageType.Encrypt, 0x02, 0, 0, 0]));
    await expect.poll(() => code !== undefined).toBe(true);
    expect(await code).toBe('TOO_LARGE');
  });

  it('stops reading past maxBytes', async () => {
    let code: Promise<string> | undefined;
    const client = await pair((s) => {
      const reader = socketReader(s, { maxBytes: 1000, timeoutMs: 2000 });
      code = codeOfAsync(reader.readBytes(900).then(() => reader.readBytes(900)));
    });
    client.write(Buffer.alloc(5000));
    await expect.poll(() => code !== undefined).toBe(true);
    expect(await code).toBe('TOO_LARGE');
  });

  it('an early close is TRUNCATED; a wrong label is BAD_LABEL', async () => {
    const codes: Array<Promise<string>> = [];
    const client = await pair((s) => {
      codes.push(codeOfAsync(readPushPull(s, { label: 'blue', expectLabel: true })));
    });
    client.end(encodeStreamMessage(pushPull(['a', 'b'], false), { compress: false, crc: false, encryptionEnabled: false, label: 'blue', dialer: true }).subarray(0, 30));
    await expect.poll(() => codes.length).toBe(1);
    const other = await pair((s) => {
      codes.push(codeOfAsync(readPushPull(s, { label: 'blue', expectLabel: true })));
    });
    other.write(encodeStreamMessage(pushPull(['a'], false), { compress: false, crc: false, encryptionEnabled: false, label: 'green', dialer: true }));
    await expect.poll(() => codes.length).toBe(2);
    expect(await Promise.all(codes)).toEqual(['TRUNCATED', 'BAD_LABEL']);
  });
});
