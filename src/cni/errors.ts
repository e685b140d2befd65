/**
 * CNI errors: the spec's well-known codes (CNI SPEC §"Error"), and ours from
 * 100 up, as the spec reserves that range for plugins. A plugin reports an
 * error as `{cniVersion, code, msg, details}` on stdout and exits 1; `msg` is
 * one clear line, `details` says more (e.g. the agent's own error code).
 */

/** The codes this plugin answers with; the numbers are the contract. */
export const CNI_ERRORS = {
  /** The configuration's cniVersion is not one the plugin speaks. */
  INCOMPATIBLE_VERSION: 1,
  /** A CNI_* environment variable is missing or malformed. */
  INVALID_ENVIRONMENT: 4,
  /** Reading the configuration from stdin failed. */
  IO_FAILURE: 5,
  /** The configuration is not JSON, or not an object. */
  DECODING_FAILURE: 6,
  /** The configuration is JSON but wrong: a field, or a network the agent does not have. */
  INVALID_CONFIG: 7,
  /** The agent is not reachable (not running, restarting): the runtime may retry. */
  TRY_AGAIN_LATER: 11,
  /** STATUS: the plugin cannot serve ADD now (agent down, network missing). */
  NOT_AVAILABLE: 50,
  /** ADD for a (container id, interface) the agent already holds, or an interface that exists in the netns. */
  ALREADY_ATTACHED: 100,
  /** The fixed address is taken, or the network has no free address. */
  ADDRESS_UNAVAILABLE: 101,
  /** CHECK: the container's interface or the agent's state is not what ADD made. */
  CHECK_FAILED: 102,
  /** The agent refused for a reason not listed above (its code is in `details`). */
  AGENT_REFUSED: 103,
  /** Anything else (a bug): the reference plugins' generic code. */
  INTERNAL: 999,
} as const;

export type CniErrorName = keyof typeof CNI_ERRORS;

/** The error object a plugin prints (CNI SPEC: "Error"). */
export interface CniErrorObject {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/** A failure with a CNI code; the plugin's one way to fail. */
export class CniError extends Error {
  readonly code: number;

  constructor(
    /** Which of {@link CNI_ERRORS}. */
    readonly kind: CniErrorName,
    msg: string,
    /** More context: the agent's error code, the path read, … */
    readonly details?: string,
  ) {
    super(msg);
    this.name = 'CniError';
    this.code = CNI_ERRORS[kind];
  }

  /** The spec's error object, in the version the request used (or the plugin's newest). */
  toObject(cniVersion: string): CniErrorObject {
    return { cniVersion, code: this.code, msg: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}
