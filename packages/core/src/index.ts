export { Runtime } from './runtime';
export type { RuntimeDeps, RunModuleOptions, ReplayOptions, RunReport, RunKvReport } from './runtime';
export type { KvNamespaceChanges } from './kvNamespaces';
