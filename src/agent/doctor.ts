/**
 * `overlayctl doctor`: what is wrong with this host's overlay, as a list of
 * checks an operator reads top to bottom at 3 a.m. Each check is a pure
 * function of a snapshot of facts (doctor-facts.ts gathers them from the
 * agent and the host) and gives one `ok` row, or one row per problem with a
 * concrete hint: the command to run, the rule to remove.
 *
 * Check names are a contract (docs/debugging.md "doctor"); so are the fields.
 */
import { clusterChecks, peerChecks } from './doctor-cluster.js';
import { hostChecks } from './doctor-host.js';
import { underlayChecks } from './doctor-underlay.js';
import { keyChecks } from './doctor-keys.js';
import { identityChecks } from './doctor-identity.js';
import { gatherFacts, type FactSources } from './doctor-facts.js';
import type { AgentContext } from './context.js';
import { row, type Check, type DoctorFacts, type DoctorReport, type DoctorStatus } from './doctor-report.js';

export type { Check, DoctorCheck, DoctorFacts, DoctorReport, DoctorStatus, PeerHealthSource, PeerRow } from './doctor-report.js';

/** Every check, in the order of the report: the data path to the peers first, then this host, then the cluster. */
export const CHECKS: readonly Check[] = [...peerChecks, ...hostChecks, ...underlayChecks, ...keyChecks, ...identityChecks, ...clusterChecks];

/** Runs every check on `facts`; a check that throws gives a failed `doctor` row, never breaks the report. */
export function diagnose(facts: DoctorFacts, checks: readonly Check[] = CHECKS): DoctorReport {
  const rows = checks.flatMap((check) => {
    try {
      return check(facts);
    } catch (err) {
      return [row('doctor', 'fail', `a check failed to run (${check.name || 'unnamed'}): ${(err as Error).message}`, 'a bug in overlayd: please report it with this output')];
    }
  });
  const counts: Record<DoctorStatus, number> = { ok: 0, warn: 0, fail: 0 };
  for (const r of rows) counts[r.status]++;
  const status: DoctorStatus = counts.fail > 0 ? 'fail' : counts.warn > 0 ? 'warn' : 'ok';
  return { node: facts.self.name, time: new Date().toISOString(), status, counts, checks: rows };
}

/**
 * Gathers the facts (about a second: the drop counters are watched that
 * long) and runs every check. `sources.peerHealth` is the data-path probe
 * module (`overlayctl peers`); without it the peer checks are left out.
 */
export async function runDoctor(ctx: AgentContext, sources: FactSources): Promise<DoctorReport> {
  return diagnose(await gatherFacts(ctx, sources));
}
