export { ForgeError, isForgeError, toForgeError, describeErrorCode } from './forgeError';
export type { ForgeErrorDetails, ForgeErrorOptions } from './forgeError';
export { forgeErrorCodes } from './errorCodes/index';
export type { ForgeErrorCode } from './errorCodes/index';
export { parseWith } from './parse';
export { displayText } from './displayText';
export { isCanonicalGuestPath, guestPathArgs, GUEST_PATH_SEGMENT, MAX_GUEST_PATH_LENGTH } from './guestPath';

export { IdentityContextSchema, TrustVectorSchema, assuranceLevels } from './identity';
export type { IdentityContext, IdentityContextInput, TrustVector, AssuranceLevel } from './identity';

export { newId, isId } from './ids';
export type { Id, ContainerId, TraceId, KernelId } from './ids';
export { decisionIdOf, parseDecisionId } from './decisionId';
export type { DecisionId } from './decisionId';

export { systemClock, ManualClock } from './clock';
export type { Clock } from './clock';
export { adoptCoarseClock, coarseClockBuffer, coarseNow, COARSE_CLOCK_TICK_MS } from './coarseClock';

export { KernelEventBus } from './kernelEvents';
export type { KernelEvents, ContainerStateEvent, ContainerStateName } from './kernelEvents';

export { createLogger, getTracer, withSpan } from './telemetry';
export type { Logger, LoggerOptions } from './telemetry';

export { decisionActions, enforcementModes } from './syscall';
export type {
  SyscallArg,
  SyscallRequest,
  DecisionAction,
  DecisionReason,
  Decision,
  PolicyDecisionPoint,
  EnforcementMode,
  Enforcement,
  SyscallEnforcerPort,
} from './syscall';

export { ExecutionDnaSchema, emptyExecutionDna } from './executionDna';
export type { ExecutionDNA } from './executionDna';

export { storageLimits } from './storagePort';
export type {
  JsonValue,
  LogEntry,
  StoredRecord,
  ReadLogOptions,
  ListRecordsOptions,
  PutRecordOptions,
  RecordWrite,
  StorageOps,
  StorageTransaction,
  StoragePort,
} from './storagePort';

export { MemoryStore } from './memoryStore';
export type { MemoryStoreOptions } from './memoryStore';
export { SqliteStore } from './sqliteStore';
export type { SqliteStoreOptions, SqliteDurability } from './sqliteStore';
export { openStateStore, STATE_DB_FILE } from './stateStore';
