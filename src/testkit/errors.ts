/**
 * The one error type of the namespace test harness. Callers branch on `code`,
 * never on the message text.
 */

/**
 * Why a harness operation failed:
 * - `COMMAND_FAILED`: a command exited non-zero (the message carries its stderr);
 * - `COMMAND_TIMEOUT`: a command ran past its time limit and was killed;
 * - `COMMAND_NOT_FOUND`: the program does not exist on PATH;
 * - `PROCESS_EXITED`: a managed process ended while something waited for its output;
 * - `WAIT_TIMEOUT`: an awaited line, file or condition did not appear in time;
 * - `BAD_ARGUMENT`: a name, index or option the harness cannot use (too long, out of range);
 * - `DESTROYED`: the topology was already destroyed;
 * - `REQUIREMENT_MISSING`: under CI, a test needs root or a tool that is missing (ci.ts).
 */
export type HarnessErrorCode =
  | 'COMMAND_FAILED'
  | 'COMMAND_TIMEOUT'
  | 'COMMAND_NOT_FOUND'
  | 'PROCESS_EXITED'
  | 'WAIT_TIMEOUT'
  | 'BAD_ARGUMENT'
  | 'DESTROYED'
  | 'REQUIREMENT_MISSING';

/** Details of a {@link HarnessError}. */
export interface HarnessErrorOptions {
  /** The underlying error. */
  cause?: unknown;
  /** Exit code of the failed command. */
  exitCode?: number | null;
  /** Standard output of the failed command. */
  stdout?: string;
}

/** A failure of the harness itself or of a command it ran, with a stable `code`. */
export class HarnessError extends Error {
  /** Stable reason, safe to branch on. */
  readonly code: HarnessErrorCode;

  /** For `COMMAND_FAILED`: the command's exit code (null if a signal ended it). */
  readonly exitCode: number | null | undefined;
  /** For `COMMAND_FAILED` and `COMMAND_TIMEOUT`: what the command printed on stdout. */
  readonly stdout: string | undefined;

  constructor(code: HarnessErrorCode, message: string, options?: HarnessErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HarnessError';
    this.code = code;
    this.exitCode = options?.exitCode;
    this.stdout = options?.stdout;
  }
}

/** True when `e` is a {@link HarnessError} (optionally with the given code). */
export function isHarnessError(e: unknown, code?: HarnessErrorCode): e is HarnessError {
  return e instanceof HarnessError && (code === undefined || e.code === code);
}
