/**
 * The one error type of the convergence benchmark. Callers branch on `code`,
 * never on the message text.
 */

/**
 * Why the benchmark could not measure:
 * - `BAD_ARGUMENT`: a command-line option it cannot use;
 * - `CLUSTER_NOT_FORMED`: the agents did not all see each other alive in time;
 * - `AGENT_API_FAILED`: an agent's control API answered with an error or not at all;
 * - `PROBE_NOT_READY`: a ping probe did not start in time.
 */
export type ConvergenceErrorCode = 'BAD_ARGUMENT' | 'CLUSTER_NOT_FORMED' | 'AGENT_API_FAILED' | 'PROBE_NOT_READY';

/** A failure of the benchmark's set-up, with a stable `code`. */
export class ConvergenceError extends Error {
  constructor(
    /** Stable reason, safe to branch on. */
    readonly code: ConvergenceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ConvergenceError';
  }
}
