// Configuration sections trust owns.
export { auditConfigSection, trustConfigSections } from './configSections';

// Policy documents and the policy graph.
export {
  POLICY_API_VERSION,
  POLICY_KIND,
  PolicyDocumentSchema,
  MatchSchema,
  weekDays,
} from './policyDocument';
export type {
  PolicyDocument,
  PolicyDocumentInput,
  PolicyRule,
  PolicyNode,
  PolicyEdge,
  PolicyMarker,
  MatchCondition,
  IdentityCondition,
  TimeCondition,
  ScoreCondition,
  ArgCondition,
  ArgConditionObject,
} from './policyDocument';
export { formatPolicyIssue, policyRefusal, policyWarningCodes } from './policyIssue';
export type { PolicyIssue, PolicyWarningCode } from './policyIssue';
export { parseSourceText, readSourceFile, MAX_POLICY_BYTES, MAX_POLICY_NESTING } from './policySource';
export { policyLimits } from './policyLimits';
export type { ParsedSource } from './policySource';
export {
  compilePolicy,
  validatePolicy,
  validatePolicyText,
  validatePolicyFile,
  loadPolicyText,
  loadPolicyFile,
  DEFAULT_POLICY,
} from './compilePolicy';
export type { CompilePolicyOptions, PolicyValidation } from './compilePolicy';
export { ZtaPolicyGraph } from './ztaPolicyGraph';
export type {
  ZtaDecision,
  RuleRef,
  RuleMatch,
  RuleMiss,
  TakenEdge,
  EvaluateOptions,
  EvaluationContext,
  DecisionCacheStats,
} from './ztaPolicyGraph';
export { PolicyEngine } from './policyEngine';
export type { PolicyEngineOptions } from './policyEngine';
export { checkPolicyDocument } from './policyChecks';
export type { PolicyFinding, PolicyCheckOptions } from './policyChecks';
export { grantOf, missingCapability } from './capabilityCatalog';
export type { SyscallGrant } from './capabilityCatalog';
export { WASI_PREVIEW1_CALLS } from './wasiPreview1Calls';
export type { WasiPreview1Call } from './wasiPreview1Calls';

// Policy test cases (`forgeone policy test` / `explain`).
export {
  PolicyTestsSchema,
  SyscallRequestInputSchema,
  EvaluationContextInputSchema,
  runPolicyTests,
  loadPolicyTests,
  parsePolicyTests,
  parseSyscallRequest,
  parseEvaluationContext,
  toSyscallRequest,
  toEvaluationContext,
} from './policyTests';
export type { PolicyTests, PolicyTestResult, PolicyTestReport, SyscallRequestInput } from './policyTests';

// Trust algorithm.
export { TrustAlgorithm, defaultTrustWeights, signalsFromIdentity } from './trustAlgorithm';
export type { TrustSignals, TrustWeights, TrustScore, Provenance } from './trustAlgorithm';
export { compareDna } from './dnaDeviation';
export type { DnaComparison, SyscallShift } from './dnaDeviation';

// Enforcement.
export { AllowListPdp, checkAllowList } from './allowListPdp';
export type { AllowListOptions } from './allowListPdp';
export { SyscallEnforcer } from './syscallEnforcer';
export type {
  SyscallEnforcerOptions,
  ContextualDecisionPoint,
  QuarantineThresholds,
} from './syscallEnforcer';
export { SyscallBoundSchema, boundedEnforcer } from './syscallBound';
export type { SyscallBound } from './syscallBound';
export { SyscallPolicies, SyscallPolicySchema } from './syscallPolicy';
export type { SyscallPolicy, SyscallPolicyInput, SyscallPolicyViolation } from './syscallPolicy';
export {
  createSyscallEnforcer,
  parseEnforcerSpec,
  enforcerSpecFromPolicyFile,
  EnforcerSpecSchema,
} from './createSyscallEnforcer';
export type { EnforcerSpec, EnforcerHooks } from './createSyscallEnforcer';
export { LivePolicy } from './livePolicy';
export type {
  LivePolicyInput,
  LivePolicyMeta,
  LivePolicyOptions,
  PolicyVersion,
  PolicyVersionInfo,
} from './livePolicy';
export { SwappableEnforcer, livePolicyVersionOf, LIVE_POLICY_REASON } from './swappableEnforcer';
export type { LivePolicyState } from './swappableEnforcer';
export { livePolicyOfSpec } from './livePolicySpec';
export type { LivePolicyLink } from './livePolicySpec';
export { ApprovalQueue } from './approvalQueue';
export type { PendingApproval, ApprovalOutcome, ApprovalEvent, ApprovalQueueOptions } from './approvalQueue';

// Audit log.
export { auditEntryOf } from './auditEntry';
export type { AuditEntryInput, AuditReason } from './auditEntry';
export { isKernelAuditEntry } from './kernelAuditEntry';
export type { AuditEntry, KernelAuditEntry } from './kernelAuditEntry';
export { AuditLog, verifyAuditChain, isAuditRecordData, AUDIT_GENESIS, DEFAULT_AUDIT_LOG } from './auditLog';
export type { AuditRecord, AuditVerification, AuditLogOptions, VerifyOptions } from './auditLog';

// Redzone.
export { Redzone } from './redzone';
export type { SnapshotPort, RedzoneOptions } from './redzone';
export { redzoneStates, redzoneTransitions } from './redzoneRecord';
export type {
  RedzoneState,
  RedzoneAction,
  Remediation,
  RedzoneAnalysis,
  QuarantineRecord,
  QuarantineHistoryEntry,
  QuarantineInput,
} from './redzoneRecord';
