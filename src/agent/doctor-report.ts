/**
 * The shape of a doctor report (field names are a contract: docs/debugging.md
 * "doctor") and the helpers every check builds its rows with.
 */
import type { DoctorFacts } from './doctor-facts.js';

export type DoctorStatus = 'ok' | 'warn' | 'fail';

/** One row of the report. */
export interface DoctorCheck {
  /** Stable name: `firewall-data-port`, `mtu-container`, … */
  check: string;
  status: DoctorStatus;
  /** What was found, in one line. */
  detail: string;
  /** What to do about it ('' on an ok row). */
  hint: string;
  /** What a problem row is about (a VTEP, a network, an interface, a rule); absent on summary rows. */
  subject?: string;
}

/** `GET /v1/doctor`, `overlayctl doctor --json`. */
export interface DoctorReport {
  node: string;
  time: string;
  /** The worst status of all checks. */
  status: DoctorStatus;
  counts: Record<DoctorStatus, number>;
  checks: DoctorCheck[];
}

/**
 * A remote VTEP's health as the data-path probes see it (`overlayctl peers`,
 * the peer-health module of src/agent): only the fields the doctor reads.
 */
export interface PeerRow {
  vtep: string;
  /** The agent's node name; absent for a static peer (a host without an agent). */
  node?: string;
  networks: string[];
  state: 'up' | 'down' | 'unknown';
  rttMs?: number | null;
  lossPct?: number | null;
  /** ISO time of the last probe answer (absent or null: never). */
  lastRx?: string | null;
  lastTx?: string | null;
  /** Path MTU towards it, when measured. */
  mtu?: number | null;
  reason?: string;
  /** Its clock minus ours, from the probes. */
  clockOffsetMs?: number | null;
}

/** Where the doctor reads the data-path probes from (the peer-health module). */
export interface PeerHealthSource {
  peers(): PeerRow[];
}

/** One check: the facts in, its rows out. */
export type Check = (facts: DoctorFacts) => DoctorCheck[];

/** A row; `subject` only on problem rows. */
export function row(check: string, status: DoctorStatus, detail: string, hint = '', subject?: string): DoctorCheck {
  return subject === undefined ? { check, status, detail, hint } : { check, status, detail, hint, subject };
}

/** The ok row when `problems` is empty, else the problems. */
export function okUnless(check: string, problems: DoctorCheck[], okDetail: string): DoctorCheck[] {
  return problems.length > 0 ? problems : [row(check, 'ok', okDetail)];
}

/** `a, b and 3 more`: a list short enough for one line. */
export function listOf(items: string[], max = 4): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
