export { Runtime } from './runtime';
export type { RuntimeDeps, RunModuleOptions, RunReport, RunKvReport } from './runtime';
/** Moved to @forgeone/execution (the host caches compiled modules); re-exported for compatibility. */
export { ModuleCache } from '@forgeone/execution';
