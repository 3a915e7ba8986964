export { Runtime } from './runtime';
export type { RuntimeDeps, RunModuleOptions, RunReport } from './runtime';
export { ModuleCache } from './moduleCache';
