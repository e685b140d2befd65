/**
 * The doctor's look at encrypted networks on this host: an outbound SA for
 * every VTEP the FDB sends to (without one, frames to it are dropped as
 * `no_sa`: the key ring has not reached this host, or not that VTEP), and a
 * sending key that should have been rotated long ago (the schedule stalled).
 */
import type { AgentContext } from './context.js';
import { listOf, okUnless, row, type Check, type DoctorCheck, type KeyFact } from './doctor-report.js';

/** A sending key older than this many rotation intervals is reported. */
export const STALE_KEY_INTERVALS = 2;

/** Each encrypted network up here: the VTEPs its FDB sends to, those with an outbound SA, the sending key's age. */
export function readKeys(ctx: AgentContext): KeyFact[] {
  const now = Date.now();
  return ctx.store.networks().flatMap((net): KeyFact[] => {
    const up = ctx.up.get(net.name);
    if (!up || !net.encryption) return [];
    const sas = ctx.datapath.securityAssociations(net.vni);
    const sending = net.encryption.keys.find((k) => k.tag === net.encryption!.sendTag);
    return [
      {
        network: net.name,
        vteps: [...new Set(up.fdb.values())],
        outbound: [...new Set(sas.filter((s) => s.direction === 'out').map((s) => s.peer))],
        sendKeyAgeS: sending ? Math.round((now - sending.created) / 1000) : undefined,
      },
    ];
  });
}

/** `esp-keys`: encrypted networks can send to every VTEP, and their keys rotate. */
const espKeys: Check = (f) => {
  const interval = f.self.keyRotationIntervalS;
  const problems = f.keys.flatMap((k): DoctorCheck[] => {
    const out: DoctorCheck[] = [];
    const missing = k.vteps.filter((v) => !k.outbound.includes(v));
    if (missing.length) {
      const detail = `network ${k.network} has no outbound SA to ${listOf(missing)}: frames to it are dropped (no_sa)`;
      out.push(row('esp-keys', 'fail', detail, `overlayctl keys ${k.network} here and on the other hosts: the key ring travels in gossip (same --gossip-key everywhere? overlayctl members)`, k.network));
    }
    if (interval > 0 && k.sendKeyAgeS !== undefined && k.sendKeyAgeS > STALE_KEY_INTERVALS * interval) {
      const detail = `network ${k.network} has sent with one key for ${Math.round(k.sendKeyAgeS / 3600)} h (rotation every ${Math.round(interval / 3600)} h): scheduled rotations stalled`;
      out.push(row('esp-keys', 'warn', detail, `overlayctl network rotate-key ${k.network}; the rotating node is the network's creator while it is alive: check its log`, k.network));
    }
    return out;
  });
  return okUnless('esp-keys', problems, f.keys.length ? `${f.keys.length} encrypted network(s) up here: an outbound SA for every VTEP, keys rotating` : 'no encrypted network up here');
};

export const keyChecks: readonly Check[] = [espKeys];
