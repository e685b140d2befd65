/**
 * `overlayctl ca …` and `overlayctl cert …` (docs/identity.md): the cluster
 * CA's operations on its folder (no agent involved), and the calls that hand
 * an agent a revocation or make it reload its certificate.
 */
import type { Command } from 'commander';
import type { ControlClient } from '../api-client/client.js';
import type { Certificate } from '../identity/index.js';
import { readFileSync } from 'node:fs';

/**
 * The identity layer, loaded by the `ca` commands' preAction hook: with
 * libsodium it is a third of overlayctl's start-up, which every other command
 * would otherwise pay.
 */
let id: typeof import('../identity/index.js');
async function loadIdentity(): Promise<void> {
  id ??= await import('../identity/index.js');
  await id.sodiumReady();
}

type Out = <T>(data: T, text: (d: T) => void) => void;
type Row = Record<string, unknown>;

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);
const days = (v: string): number => {
  if (!/^\d+$/.test(v)) throw new Error(`"${v}" is not a number of days`);
  return Number(v);
};
/** The key file written beside a certificate: FILE.crt → FILE.key. */
export const keyPathFor = (certPath: string): string => `${certPath.replace(/\.crt$/, '')}.key`;

/** A certificate as `ca show` prints it (`--json` field names are a contract, docs/identity.md); after loadIdentity. */
function certificateView(cert: Certificate, nowS = id.nowSeconds()): Row {
  const state = id.validAt(cert, nowS);
  return {
    kind: cert.ca ? 'ca' : 'node',
    name: cert.name,
    fingerprint: id.fingerprint(cert),
    vteps: cert.vteps,
    subnets: cert.subnets,
    notBefore: id.isoSeconds(cert.notBefore),
    notAfter: id.isoSeconds(cert.notAfter),
    state,
    daysLeft: Math.max(0, Math.floor((cert.notAfter - nowS) / 86_400)),
    ...(cert.issuer ? { issuer: cert.issuer } : {}),
  };
}

const printRecord = (d: Row): void => {
  for (const [k, v] of Object.entries(d)) process.stdout.write(`${k}: ${Array.isArray(v) ? v.join(', ') || (k === 'vteps' ? '(none)' : '(any)') : String(v)}\n`);
};

export function registerCaCommands(program: Command, out: Out, client: () => ControlClient): void {
  const ca = program.command('ca').description('the cluster CA: make it, sign and revoke node certificates (docs/identity.md)');
  ca.hook('preAction', loadIdentity);
  ca.command('init')
    .description('make a CA in DIR: ca.crt and ca.key (keep DIR offline)')
    .requiredOption('--dir <dir>', 'the CA folder')
    .option('--name <name>', 'the CA\'s name', 'overlayd-ca')
    .option('--days <n>', 'validity', days, 3650)
    .action((o: { dir: string; name: string; days: number }) => out(certificateView(id.initCa(o.dir, o.name, o.days)), printRecord));
  ca.command('sign')
    .description('make a node certificate and its key (FILE and FILE with .key for .crt)')
    .requiredOption('--dir <dir>', 'the CA folder')
    .requiredOption('--name <node>', 'the node name (overlayd --name)')
    .requiredOption('--vtep <addr,...>', 'underlay addresses the node may use (overlayd --advertise-addr)', list)
    .option('--subnets <cidr,...>', 'overlay ranges its endpoints may take addresses from (default: any)', list)
    .option('--days <n>', 'validity (at most the CA\'s)', days, 365)
    .option('--allow-overlap', 'issue even when --subnets overlap another node\'s live certificate (docs/identity.md "Claims")')
    .requiredOption('--out <file>', 'where to write the certificate')
    .action((o: { dir: string; name: string; vtep: string[]; subnets?: string[]; days: number; out: string; allowOverlap?: boolean }) => {
      const { cert, key } = id.signNode(o.dir, { name: o.name, vteps: o.vtep, subnets: o.subnets, days: o.days, allowOverlap: o.allowOverlap === true });
      id.writeKey(keyPathFor(o.out), key);
      id.writeDocument(o.out, cert);
      out({ ...certificateView(cert), certFile: o.out, keyFile: keyPathFor(o.out) }, printRecord);
    });
  ca.command('show <file>')
    .description('show a certificate or a revocation')
    .action((file: string) => out(showDocument(file), printRecord));
  ca.command('revoke')
    .description('revoke a node certificate: writes a revocation signed by the CA (hand it to an agent with ca publish)')
    .requiredOption('--dir <dir>', 'the CA folder')
    .requiredOption('--cert <file>', 'the certificate to revoke')
    .action((o: { dir: string; cert: string }) => {
      const { revocation, path } = id.revokeCert(o.dir, id.readCertificate(o.cert));
      out({ revoked: revocation.revoked, name: revocation.name, file: path }, printRecord);
    });
  ca.command('publish <file>')
    .description('hand a revocation to the agent: it spreads it through the cluster')
    .action(async (file: string) => out(await client().post<Row>('/v1/identity/revocations', { revocation: id.readRevocation(file) }), printRecord));

  const cert = program.command('cert').description("this agent's node certificate");
  cert.command('reload')
    .description('read --cert and --key again (a renewed certificate) and re-sign what this node owns')
    .action(async () => out(await client().post<Row>('/v1/identity/reload', {}), printRecord));
}

/** `ca show`: a certificate, or else a revocation. */
function showDocument(file: string): Row {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Row;
  if ('revoked' in doc) {
    const r = id.readRevocation(file);
    return { kind: 'revocation', name: r.name, revoked: r.revoked, revokedAt: id.isoSeconds(r.revokedAt), certNotAfter: id.isoSeconds(r.notAfter), issuer: r.issuer };
  }
  return certificateView(id.parseCertificate(doc));
}
