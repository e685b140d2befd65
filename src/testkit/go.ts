/**
 * Builds the small Go programs the gossip tests run against the real
 * hashicorp/memberlist (Debian's golang-github-hashicorp-memberlist-dev,
 * v0.2.2, in GOPATH mode).
 *
 * `buildGo(srcDir)` compiles the `main` package in `srcDir` once per run
 * (and reuses a binary from an earlier run when the sources are unchanged).
 * When `srcDir` holds a `memberlist-ext/` folder, its `.go` files are added to
 * package memberlist itself, in a private GOPATH overlay that links the
 * library's own files: that is how the vector program reaches memberlist's
 * unexported encoders (`encode`, `makeCompoundMessage`, `encryptPayload`…)
 * without copying them.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, symlink, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Debian installs Go libraries. */
export const GO_PATH = '/usr/share/gocode';
/** The memberlist package inside it. */
export const MEMBERLIST_DIR = join(GO_PATH, 'src/github.com/hashicorp/memberlist');

const builds = new Map<string, Promise<string | null>>();

/** Why Go programs cannot be built here, or null when they can. */
export function goMissingReason(): string | null {
  if (!existsSync('/usr/bin/go') && !existsSync('/usr/local/go/bin/go')) return 'go is not installed (apt-get install golang-go)';
  if (!existsSync(MEMBERLIST_DIR)) return 'memberlist is not installed (apt-get install golang-github-hashicorp-memberlist-dev)';
  return null;
}

async function goFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir)).filter((f) => f.endsWith('.go') && !f.endsWith('_test.go')).sort();
}

/** Hash of every source that goes into the binary, for the on-disk cache. */
async function sourceHash(srcDir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const dir of [srcDir, join(srcDir, 'memberlist-ext')]) {
    for (const f of await goFiles(dir)) {
      hash.update(f);
      hash.update(await readFile(join(dir, f)));
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/** Creates GOPATH overlay `root` where memberlist = library files (linked) + ext files (copied). */
async function makeOverlay(root: string, extDir: string): Promise<void> {
  const pkg = join(root, 'src/github.com/hashicorp/memberlist');
  await mkdir(pkg, { recursive: true });
  for (const entry of await readdir(MEMBERLIST_DIR, { withFileTypes: true })) {
    const isSource = entry.isFile() && entry.name.endsWith('.go') && !entry.name.endsWith('_test.go');
    if (isSource || entry.name === 'vendor' || entry.name === 'internal') {
      await symlink(join(MEMBERLIST_DIR, entry.name), join(pkg, entry.name));
    }
  }
  for (const f of await goFiles(extDir)) await copyFile(join(extDir, f), join(pkg, f));
}

async function build(srcDir: string): Promise<string | null> {
  if (goMissingReason()) return null;
  const dir = resolve(srcDir);
  const cacheDir = join(tmpdir(), `overlayd-go-${await sourceHash(dir)}`);
  const binary = join(cacheDir, 'prog');
  if (existsSync(binary)) return binary;
  const work = `${cacheDir}.tmp-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  let gopath = GO_PATH;
  const extDir = join(dir, 'memberlist-ext');
  if ((await goFiles(extDir)).length > 0) {
    await makeOverlay(join(work, 'gopath'), extDir);
    gopath = `${join(work, 'gopath')}:${GO_PATH}`;
  }
  await run('go', ['build', '-o', join(work, 'prog'), '.'], {
    cwd: dir,
    env: { ...process.env, GO111MODULE: 'off', GOPATH: gopath, CGO_ENABLED: '0' },
    timeout: 600_000,
    maxBuffer: 16 << 20,
  }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`go build in ${dir} failed: ${err.stderr ?? err.message}`);
  });
  try {
    await rename(work, cacheDir);
  } catch {
    // Another process published the same build first: use its binary, or
    // ours if what is there is incomplete.
    if (!existsSync(binary)) return join(work, 'prog');
    await rm(work, { recursive: true, force: true });
  }
  return binary;
}

/**
 * Compiles the Go `main` package in `srcDir` (see the module comment for
 * `memberlist-ext/`). Returns the binary path, cached per run, or null when
 * go or the memberlist library is missing. A failing build throws.
 */
export function buildGo(srcDir: string): Promise<string | null> {
  const key = resolve(srcDir);
  let pending = builds.get(key);
  if (!pending) {
    pending = build(key);
    builds.set(key, pending);
  }
  return pending;
}

/** Skip helper: false (skip) with a reason locally, a thrown error under CI=true. */
export function needGo(): boolean {
  const why = goMissingReason();
  if (why && process.env.CI) throw new Error(why);
  return why === null;
}
