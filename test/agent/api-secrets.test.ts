/**
 * `overlayctl keys --show-secrets` is for root only, even through a
 * group-accessible control socket: the API reads the caller's uid with
 * SO_PEERCRED. A client running as uid 65534 in group 0 (allowed on the
 * socket) gets the ring and SAs but a 403 for the secrets.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent, KeysReport } from '../../src/agent/agent.js';
import { ControlApi } from '../../src/agent/api.js';
import { haveRoot, requirement } from '../../src/testkit/ci.js';
import { haveAddon } from '../native/support.js';

const ready = requirement(haveRoot(), 'needs root (setpriv to another uid)') && haveAddon();

/** What the API asks of the agent here: a keys report, with secrets when allowed. */
const agentStub = {
  keys: (network: string, secrets: boolean): KeysReport => ({
    network,
    vni: 4096,
    carrier: 'ip',
    keySize: 16,
    esn: true,
    keys: [],
    sas: [],
    ...(secrets ? { secrets: { keys: [{ tag: 1, material: 'aa' }], espSa: '', espSaRing: '' } } : {}),
  }),
  log: { error: () => undefined },
} as unknown as Agent;

/** GET `path` on the unix socket as uid `uid` (gid 0): status and body. */
function getAs(uid: number, socket: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const script = `require('http').get({ socketPath: ${JSON.stringify(socket)}, path: ${JSON.stringify(path)} }, (r) => { let d = ''; r.on('data', (c) => (d += c)); r.on('end', () => console.log(JSON.stringify({ status: r.statusCode, body: JSON.parse(d) }))); })`;
  const cmd = uid === 0 ? [process.execPath, '-e', script] : ['setpriv', `--reuid=${uid}`, '--regid=0', '--clear-groups', process.execPath, '-e', script];
  return new Promise((resolve, reject) =>
    execFile(cmd[0], cmd.slice(1), { timeout: 10_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)))),
  );
}

describe.skipIf(!ready)('the control API keeps secrets for root', () => {
  let dir: string;
  let socket: string;
  let api: ControlApi;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ovt-api-'));
    chmodSync(dir, 0o755);
    socket = join(dir, 'api.sock');
    api = new ControlApi(agentStub);
    await api.listen(socket); // mode 0660, group root
  });
  afterAll(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the ring to a group member, refuses it the secrets (403 FORBIDDEN)', async () => {
    const plain = await getAs(65534, socket, '/v1/networks/red/keys');
    expect(plain.status).toBe(200);
    expect(plain.body.secrets).toBeUndefined();
    const secret = await getAs(65534, socket, '/v1/networks/red/keys?secrets=1');
    expect(secret.status).toBe(403);
    expect(secret.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
  });

  it('gives root the secrets', async () => {
    const r = await getAs(0, socket, '/v1/networks/red/keys?secrets=1');
    expect(r.status).toBe(200);
    expect(r.body.secrets).toMatchObject({ keys: [{ tag: 1 }] });
  });
});
