export { Runtime } from './runtime';
export type { RuntimeDeps } from './runtimeDeps';
export type { RunModuleOptions, ReplayOptions, RunReport, RunKvReport } from './runTypes';
export type { DurableTraceOptions, StoredTraceReport } from './durableTrace';
export type { KvNamespaceChanges } from './kvNamespaces';

// Configuration sections and change policies core owns
export {
  coreConfigSections,
  coreConfigPolicies,
  memoryWithinBudgetPolicy,
  modeConfigSection,
  limitsConfigSection,
  resourcesConfigSection,
  storageConfigSection,
} from './configSections';

// Scheduler
export { Scheduler, DEFAULT_MAX_QUEUE_DEPTH, DEFAULT_RETAIN_FINISHED } from './scheduler/scheduler';
export type { SchedulerOptions, SchedulerContext, WorkloadHandle } from './scheduler/scheduler';
export { priorities, priorityRank } from './scheduler/priority';
export type { Priority } from './scheduler/priority';
export type {
  Workload,
  WorkloadInput,
  WorkloadState,
  FinalState,
  ExecutorResult,
  WorkloadExecutor,
  WorkloadResult,
  QueuedWorkloadInfo,
} from './scheduler/workload';
export { policyNames } from './scheduler/schedulingPolicy';
export type { SchedulingPolicy, PolicyName } from './scheduler/schedulingPolicy';
export { createPolicy } from './scheduler/createPolicy';
export type { SchedulingPolicyChoice, PolicyTuning } from './scheduler/createPolicy';
export { FifoPolicy } from './scheduler/fifoPolicy';
export { PriorityPolicy, DEFAULT_AGING_MS } from './scheduler/priorityPolicy';
export { FairSharePolicy } from './scheduler/fairSharePolicy';
export type { FairShareOptions } from './scheduler/fairSharePolicy';
export { BinaryHeap } from './scheduler/binaryHeap';
export type { SchedulerResources } from './scheduler/schedulerResources';
export { readWorkloadFile, parseWorkloadText } from './scheduler/workloadFile';
export type { WorkloadFile, WorkloadSpec } from './scheduler/workloadFile';

// Resource manager
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

// Boot
export { boot, parseBootParameters } from './boot/boot';
export {
  bootModes,
  BootModeSchema,
  DEBUG_TRACE_CAPACITY,
  launchRefusal,
  launchKindOf,
  traceAll,
  traceCapacityFor,
  drainsRunning,
} from './boot/bootMode';
export type { BootMode, LaunchRequest } from './boot/bootMode';
export { BootParametersSchema } from './boot/bootParameters';
export type {
  BootParameters,
  BootParametersInput,
  BootCollaborators,
  BootOptions,
} from './boot/bootParameters';
export type { BootContext, BootSelfTest, BootSelfTestCheck } from './boot/bootContext';
export { verifyTrustAnchor } from './boot/trustAnchor';
export { bootTrustRoot } from './boot/bootTrustRoot';
export type { TrustAnchor, TrustAnchorSummary } from './boot/trustAnchor';
export { checkRevocation, NO_ROOT_REVOCATION } from './boot/revocationStatus';
export type { RevocationStatus, RevocationSource } from './boot/revocationStatus';
export { bootAuditEntry } from './boot/bootAudit';
export { DebugTraces, DEBUG_TRACES_NAMESPACE } from './boot/debugTraces';
export type { KeptTrace } from './boot/debugTraces';

// Containers
export {
  ContainerManager,
  DEFAULT_STOP_DEADLINE_MS,
  DEFAULT_CLOSE_DEADLINE_MS,
} from './container/containerManager';
export type {
  ContainerInvokeOptions,
  ContainerInvokeResult,
  StopOptions,
} from './container/containerManager';
export type { CallRange } from './requestMarks';
export type { ContainerManagerDeps, QuarantineOptions } from './container/containerDeps';
export { firedRulesOf } from './quarantine/quarantineInput';
export type { ContainerConfig, ContainerSource } from './container/containerConfig';
export type { ContainerInfo, ContainerFilter, ContainerKind } from './container/containerInfo';
export {
  containerStates,
  containerActions,
  containerTransitions,
  nextContainerState,
  isTerminal,
} from './container/containerState';
export type { ContainerState, ContainerAction, ContainerTarget } from './container/containerState';
export { CONTAINER_REGISTRY_NAMESPACE } from './container/containerRegistry';
export { guestSecretsOf, launchSecretNames, MAX_LAUNCH_SECRETS } from './guestSecrets';
export type { LaunchSecrets } from './guestSecrets';
