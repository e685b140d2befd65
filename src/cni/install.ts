/**
 * `overlayctl cni install`: puts an `overlayd-cni` executable where CNI
 * runtimes look for plugins — /opt/cni/bin by default, /usr/lib/cni on
 * Debian's containerd (which searches both). The plugin is a Node.js script
 * inside this package, so what is installed is a two-line shell wrapper that
 * execs it with this very node binary: a runtime's PATH (containerd under
 * systemd) need not hold `node`, and the package may live anywhere.
 */
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Where CNI plugins live by default. */
export const DEFAULT_CNI_BIN_DIR = '/opt/cni/bin';
/** The executable's name: a list's `"type"` must say the same. */
export const PLUGIN_FILE = 'overlayd-cni';

export type InstallErrorCode = 'ENTRY_MISSING' | 'INSTALL_FAILED';

/** Why an install did not happen. */
export class InstallError extends Error {
  constructor(
    readonly code: InstallErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'InstallError';
  }
}

/** What to install where. */
export interface InstallOptions {
  /** The plugin directory (created if missing). */
  dir: string;
  /** The built entry point, dist/src/cli/overlayd-cni.js. */
  entry: string;
  /** The node binary the wrapper runs (default: the one running now). */
  node?: string;
}

/** The wrapper's text: exec node on the entry with the runtime's arguments. */
export function wrapperScript(node: string, entry: string): string {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  return `#!/bin/sh\n# overlayd-cni, the overlayd CNI plugin (written by overlayctl cni install)\nexec ${q(node)} ${q(entry)} "$@"\n`;
}

/**
 * Writes DIR/overlayd-cni (mode 0755) atomically, replacing an older one;
 * returns its path. Throws ENTRY_MISSING when the package is not built and
 * INSTALL_FAILED when the directory cannot be written.
 */
export function installPlugin(opts: InstallOptions): string {
  if (!existsSync(opts.entry)) throw new InstallError('ENTRY_MISSING', `${opts.entry} does not exist: build overlayd first (npm run build)`);
  const target = join(opts.dir, PLUGIN_FILE);
  const temp = join(opts.dir, `.${PLUGIN_FILE}.${process.pid}`);
  try {
    makeDirs(opts.dir);
    writeFileSync(temp, wrapperScript(opts.node ?? process.execPath, opts.entry));
    chmodSync(temp, 0o755);
    renameSync(temp, target);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new InstallError('INSTALL_FAILED', `cannot install into ${opts.dir}: ${(err as Error).message}`);
  }
  return target;
}

/**
 * `mkdir -p` one level at a time: Node's recursive mkdirSync spins forever
 * where the kernel refuses a directory with ENOENT (e.g. below /proc).
 */
function makeDirs(dir: string): void {
  const path = resolve(dir);
  if (existsSync(path)) return;
  const parent = dirname(path);
  if (parent !== path) makeDirs(parent);
  mkdirSync(path);
}
