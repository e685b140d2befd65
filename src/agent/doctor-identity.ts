/**
 * The doctor's look at node identity (docs/identity.md): this node's
 * certificate expired or about to (other nodes then refuse everything it
 * says), and other nodes' certificates that are not good now (their entries
 * are refused here).
 */
import { EXPIRY_WARNING_DAYS } from './identity.js';
import { row, type Check, type DoctorCheck } from './doctor-report.js';

/** `identity`: this node's certificate, and the others'. */
const identity: Check = (f) => {
  const id = f.identity;
  if (!id || id.mode === 'unsigned') return [row('identity', 'ok', 'unsigned cluster (no --ca)')];
  const rows: DoctorCheck[] = [];
  const reload = 'renew it from the cluster CA (docs/identity.md), then overlayctl cert reload';
  if (id.cert && Date.parse(id.cert.notAfter) <= Date.now()) {
    rows.push(row('identity', 'fail', `this node's certificate expired at ${id.cert.notAfter}: other nodes refuse its entries`, reload, id.cert.name));
  } else if (id.cert && id.cert.daysLeft < EXPIRY_WARNING_DAYS) {
    rows.push(row('identity', 'warn', `this node's certificate expires in ${id.cert.daysLeft} day(s) (${id.cert.notAfter})`, reload, id.cert.name));
  }
  const c = id.certificates;
  if (c && c.good < c.known) {
    const detail = `${c.known - c.good} of ${c.known} other nodes' certificates are not good now (${c.revoked} revoked): their entries are refused here`;
    rows.push(row('identity', 'warn', detail, 'overlayctl status (identity) and the agent log name them; their hosts renew and run overlayctl cert reload', 'certificates'));
  }
  return rows.length ? rows : [row('identity', 'ok', `${id.summary}; certificate good for ${id.cert?.daysLeft ?? '?'} day(s)`)];
};

export const identityChecks: readonly Check[] = [identity];
