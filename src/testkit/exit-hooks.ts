/**
 * Synchronous clean-up that must run however the process ends: normal exit,
 * an uncaught error, or SIGINT/SIGTERM/SIGHUP. Promises cannot settle in
 * these moments, so every hook is synchronous (execFileSync, process.kill).
 */

/** A synchronous clean-up action; it must not throw (errors are swallowed). */
export type ExitHook = () => void;

const hooks = new Set<ExitHook>();
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let installed = false;

/**
 * Runs `hook` when the process exits or is killed by a catchable signal.
 * Returns a function that unregisters it (call it after a normal clean-up).
 */
export function onProcessExit(hook: ExitHook): () => void {
  install();
  hooks.add(hook);
  return () => {
    hooks.delete(hook);
  };
}

/** Runs every registered hook once, newest first, and forgets them. */
export function runExitHooks(): void {
  const pending = [...hooks].reverse();
  hooks.clear();
  for (const hook of pending) {
    try {
      hook();
    } catch {
      // Keep cleaning: one failed hook must not leak the rest.
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runExitHooks);
  for (const signal of SIGNALS) {
    const onSignal = (): void => {
      runExitHooks();
      // When nobody else handles the signal, restore its default effect (die by it).
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}
