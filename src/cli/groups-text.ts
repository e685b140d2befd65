/** The text form of `overlayctl groups`: one line per (network, group), who listens and where this host sends it (the fields: docs/multicast.md). */
import { printTable } from './table.js';

interface GroupLine {
  network: string;
  group: string;
  members: { node: string | null; endpoint: string | null; vtep: string; ip?: string }[];
  vteps: string[];
}

/** `node/endpoint-prefix` for an endpoint, `static IP@VTEP` for a static peer. */
const member = (m: GroupLine['members'][number]): string => (m.node === null ? `static ${m.ip}@${m.vtep}` : `${m.node}/${(m.endpoint ?? '').slice(0, 12)}`);

export function printGroups(rows: Record<string, unknown>[]): void {
  const groups = rows as unknown as GroupLine[];
  const table = groups.map((g) => {
    const nodeOf = new Map(g.members.map((m) => [m.vtep, m.node ?? 'static']));
    return {
      network: g.network,
      group: g.group,
      members: g.members.map(member),
      'sent to': g.vteps.length === 0 ? '-' : g.vteps.map((v) => `${v} (${nodeOf.get(v) ?? '?'})`),
    };
  });
  printTable(table, ['network', 'group', 'members', 'sent to']);
}
