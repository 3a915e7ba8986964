export {
  RuntimeConfigSchema,
  LimitsSchema,
  StorageConfigSchema,
  parseRuntimeConfig,
  defaultRuntimeConfig,
} from './runtimeConfig';
export type { RuntimeConfig, RuntimeConfigInput, Limits, StorageConfig } from './runtimeConfig';
