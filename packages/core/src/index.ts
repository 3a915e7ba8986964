export { Runtime } from './runtime';
export type { RuntimeDeps, RunModuleOptions, ReplayOptions, RunReport, RunKvReport } from './runtime';
export type { KvNamespaceChanges } from './kvNamespaces';
/** Moved to @forgeone/execution (the host caches compiled modules); re-exported for compatibility. */
export { ModuleCache } from '@forgeone/execution';
