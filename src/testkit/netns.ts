/**
 * The namespace test harness, importable by tests, bench/ and scripts/ alike
 * (no vitest import anywhere below). See DESIGN.md §6 for the rules it
 * enforces: hosts are namespaces, the underlay is a bridge in a switch
 * namespace, addresses only from 198.18.0.0/15 and 2001:db8::/32, every name
 * starts with `ovt` + the run id, everything is removed at the end.
 */
export { HarnessError, isHarnessError, type HarnessErrorCode } from './errors.js';
export { sh, nsExec, shSync, inNamespace, formatCommand, type ExecOptions, type ExecResult } from './exec.js';
export { onProcessExit, runExitHooks, type ExitHook } from './exit-hooks.js';
export {
  ManagedProcess,
  nsSpawn,
  spawnManaged,
  stopProcessesIn,
  stopProcessesWhere,
  type SpawnOptions,
  type ExitStatus,
} from './process.js';
export {
  listByPrefix,
  removeByPrefix,
  removeByPrefixSync,
  removeNamespace,
  isEmpty,
  NETNS_DIR,
  WIREGUARD_SOCKET_DIR,
  type PrefixedResources,
} from './resources.js';
export { runId, runPrefix, claimRun, releaseRun, cleanStaleRuns, RUN_ID_ENV, NAME_ROOT } from './run.js';
export { TopologyNames, checkLinkName, MAX_LINK_NAME } from './names.js';
export { PacketCapture, startCapture, type CaptureOptions } from './capture.js';
export { SwitchFilter, type DropRuleOptions, type SwitchRule } from './switch-filter.js';
export {
  Topology,
  UNDERLAY_PREFIX4,
  UNDERLAY_PREFIX6,
  type TopologyOptions,
  type UnderlayFamily,
  type HostInfo,
  type ContainerNamespace,
} from './topology.js';
