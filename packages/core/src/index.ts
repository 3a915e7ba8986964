export { Runtime } from './runtime';
export type { RuntimeDeps, RunModuleOptions, RunReport, RunKvReport } from './runtime';
export type { KvNamespaceChanges } from './kvNamespaces';
