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
// Secrets: encrypted at rest, envelope encryption, key rotation.
export { SecretStore } from './secrets/secretStore';
export type { SecretInfo, SecretMeta, SecretStoreOptions } from './secrets/secretStore';
export { SecretValue } from './secrets/secretValue';
export { SECRET_NAME_PATTERN, isSecretName, parseSecretName } from './secrets/secretName';
export {
  SECRET_KEY_BYTES,
  parseSecretKeyText,
  passphraseKeySource,
  readSecretKeyFile,
} from './secrets/secretKeySource';
export type { SecretKeySource } from './secrets/secretKeySource';
export { checkScryptParams, defaultScryptParams, scryptBounds } from './secrets/scryptParams';
export type { ScryptParams } from './secrets/scryptParams';
export { MAX_SECRET_VALUE_BYTES, SECRETS_META_NAMESPACE, SECRETS_NAMESPACE } from './secrets/secretRecords';
