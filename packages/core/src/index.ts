export { Runtime } from './runtime';
export type { RuntimeDeps, RunModuleOptions, ReplayOptions, RunReport, RunKvReport } from './runtime';
export type { KvNamespaceChanges } from './kvNamespaces';

// boot (issue 14, item 1)
export { boot, parseBootParameters } from './boot/boot';
export {
  bootModes,
  BootModeSchema,
  DEBUG_TRACE_CAPACITY,
  launchRefusal,
  launchKindOf,
  traceAll,
  traceCapacityFor,
  drainsRunning,
} from './boot/bootMode';
export type { BootMode, LaunchRequest } from './boot/bootMode';
export { BootParametersSchema } from './boot/bootParameters';
export type {
  BootParameters,
  BootParametersInput,
  BootCollaborators,
  BootOptions,
} from './boot/bootParameters';
export type { BootContext, BootSelfTest, BootSelfTestCheck } from './boot/bootContext';
export { verifyTrustAnchor } from './boot/trustAnchor';
export type { TrustAnchor, TrustAnchorSummary } from './boot/trustAnchor';
export { checkRevocation, NO_ROOT_REVOCATION } from './boot/revocationStatus';
export type { RevocationStatus, RevocationSource } from './boot/revocationStatus';
export { bootAuditEntry } from './boot/bootAudit';
export { DebugTraces, DEBUG_TRACES_NAMESPACE } from './boot/debugTraces';
export type { KeptTrace } from './boot/debugTraces';
