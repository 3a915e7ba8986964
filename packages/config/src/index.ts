export {
  RuntimeConfigSchema,
  LimitsSchema,
  StorageConfigSchema,
  parseRuntimeConfig,
  defaultRuntimeConfig,
} from './runtimeConfig';
export type { RuntimeConfig, RuntimeConfigInput, Limits, StorageConfig } from './runtimeConfig';
export { defaultContainerLimits, defaultModuleLimits, limitBounds, resolveLimits } from './limits';
export type { ContainerLimits, ContainerLimitsInput, ModuleLimits } from './limits';
