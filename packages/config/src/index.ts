export {
  RuntimeConfigSchema,
  LimitsSchema,
  ResourceBudgetsSchema,
  StorageConfigSchema,
  parseRuntimeConfig,
  defaultRuntimeConfig,
} from './runtimeConfig';
export type { RuntimeConfig, RuntimeConfigInput, Limits, StorageConfig } from './runtimeConfig';
export {
  containerLimitNames,
  defaultContainerLimits,
  defaultModuleLimits,
  limitBounds,
  limitsProblem,
  resolveLimits,
} from './limits';
export { defaultResourceBudgets, resourceBudgetBounds } from './resourceBudgets';
export type { ResourceBudgets } from './resourceBudgets';
export type { ContainerLimits, ContainerLimitsInput, ModuleLimits } from './limits';
