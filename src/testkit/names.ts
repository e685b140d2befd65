/**
 * Names of what a topology creates. A topology's prefix is the run prefix
 * (`ovt` + 5-digit run id) plus a 2-character token claimed atomically, so
 * topologies of one run — in one process or in several workers — never
 * collide. Link names must fit IFNAMSIZ: at most 15 characters.
 */
import { HarnessError } from './errors.js';

/** Longest interface name Linux accepts (IFNAMSIZ − 1). */
export const MAX_LINK_NAME = 15;

/** Throws `BAD_ARGUMENT` unless `name` is a valid link name of at most 15 characters. */
export function checkLinkName(name: string): string {
  if (name.length === 0 || name.length > MAX_LINK_NAME || /[\s/:]/.test(name)) {
    throw new HarnessError('BAD_ARGUMENT', `link name "${name}" is not 1–${MAX_LINK_NAME} characters without spaces, '/' or ':'`);
  }
  return name;
}

/** The names of one topology, all starting with its prefix. */
export class TopologyNames {
  constructor(
    /** Run prefix + token, e.g. `ovt00abc7k`. */
    readonly prefix: string,
  ) {}

  /** The switch namespace, and the bridge inside it. */
  get switchNs(): string {
    return `${this.prefix}sw`;
  }

  /** The bridge in the switch namespace that all hosts' underlay links join. */
  get switchBridge(): string {
    return checkLinkName(`${this.prefix}sw`);
  }

  /** Host `i`'s namespace. */
  hostNs(i: number): string {
    return `${this.prefix}h${i}`;
  }

  /** Host `i`'s underlay link, inside its namespace. */
  hostUnderlay(i: number): string {
    return checkLinkName(`${this.prefix}h${i}u`);
  }

  /** The switch-side end of host `i`'s underlay veth (a bridge port). */
  switchPort(i: number): string {
    return checkLinkName(`${this.prefix}h${i}s`);
  }

  /** The namespace of container `name` on host `i`. */
  containerNs(i: number, name: string): string {
    if (!/^[a-z0-9]{1,16}$/.test(name)) {
      throw new HarnessError('BAD_ARGUMENT', `container name "${name}" is not 1–16 characters [a-z0-9]`);
    }
    return `${this.prefix}h${i}-${name}`;
  }

  /** A link name for the caller's own use (`suffix` up to the 15-character limit). */
  link(suffix: string): string {
    return checkLinkName(`${this.prefix}${suffix}`);
  }
}
