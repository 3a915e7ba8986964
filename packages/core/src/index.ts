export { Runtime } from './runtime';
export type { RuntimeDeps, RunModuleOptions, ReplayOptions, RunReport, RunKvReport } from './runtime';
export type { KvNamespaceChanges } from './kvNamespaces';
// issue 14 item 3: resource manager
export { ResourceManager } from './resources/resourceManager';
export type { ResourceManagerOptions } from './resources/resourceManager';
export { cpuAccountOf } from './resources/cpuAccount';
export type { CpuAccount } from './resources/cpuAccount';
export type {
  Allocation,
  BudgetName,
  ResourceAdmission,
  ResourceRequest,
} from './resources/resourceAdmission';
export type { BudgetUse, ResourceUsage } from './resources/resourceUsage';
