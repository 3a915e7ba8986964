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

// Sections, the composed schema and typed paths.
export { configSection, RESERVED_SECTION_NAMES } from './configSection';
export type { ConfigSection } from './configSection';
export { ConfigSchema, defineConfigSchema } from './configSchema';
export type { ConfigIssue, SectionsOutput } from './configSchema';
export type { ConfigPath, ConfigPathValue } from './configPaths';
export { defaultConfigSections, logConfigSection, logLevels } from './defaultConfigSections';
export { configSecret, isSecretSchema, secretReferenceName, SECRET_REFERENCE_PATTERN } from './configSecret';
export type { SecretResolver, RevealedSecret } from './configSecret';

// The live context, its history and change policies.
export { ConfigContext } from './configContext';
export type {
  ConfigContextOptions,
  LiveConfig,
  ConfigChangeResult,
  ConfigSubscriber,
  SubscriberFailure,
} from './configContext';
export { ConfigHistory } from './configHistory';
export type { ConfigHistoryEntry, StoredConfigVersion } from './configHistory';
export { ChangeMetaSchema, hasRole, touches } from './changePolicy';
export type { ChangeKind, ChangeMeta, ChangePolicy, ConfigActor, ConfigChange } from './changePolicy';
export {
  ChangePolicyRuleSchema,
  ChangePolicyRulesSchema,
  compileChangePolicyRules,
} from './declarativePolicy';
export type { ChangePolicyRule } from './declarativePolicy';
export type { LeafChange } from './internal/leafMap';

// Files, environment, flags and the effective configuration.
export {
  readConfigFile,
  readConfigFileText,
  parseConfigText,
  MAX_CONFIG_FILE_BYTES,
  MAX_CONFIG_ALIAS_COUNT,
} from './configFile';
export type { ParsedConfigFile, FilePosition } from './configFile';
export { configEnvName, CONFIG_ENV_PREFIX } from './configEnv';
export { resolveConfig, loadConfig, formatConfigProblem, formatConfigSource } from './effectiveConfig';
export type { ConfigSource, ConfigProblem, ResolveConfigOptions, ResolvedConfig } from './effectiveConfig';

// Hot reload of a configuration file.
export { ConfigWatcher } from './reload/configWatcher';
export { DebouncedReload } from './reload/debouncedReload';
export type { RefusedReload } from './reload/debouncedReload';
export type { ConfigWatcherOptions, ReloadResult } from './reload/configWatcher';
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
