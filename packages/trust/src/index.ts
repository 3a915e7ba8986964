export { AllowListPdp } from './allowListPdp';
export type { AllowListOptions } from './allowListPdp';
export { SyscallEnforcer } from './syscallEnforcer';
export type { SyscallEnforcerOptions } from './syscallEnforcer';

export { POLICY_API_VERSION, POLICY_KIND, PolicyDocumentSchema, weekDays } from './policyDocument';
export type {
  PolicyDocument,
  PolicyDocumentInput,
  PolicyRule,
  PolicyNode,
  PolicyEdge,
  PolicyMarker,
  MatchCondition,
  ArgCondition,
  ArgConditionObject,
} from './policyDocument';
export { formatPolicyIssue, policyRefusal, policyWarningCodes } from './policyIssue';
export type { PolicyIssue, PolicyWarningCode } from './policyIssue';
export { parseSourceText, readSourceFile, MAX_POLICY_BYTES } from './policySource';
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
export { checkPolicyDocument } from './policyChecks';
export type { PolicyFinding, PolicyCheckOptions } from './policyChecks';
export { grantOf, missingCapability } from './capabilityCatalog';
export type { SyscallGrant } from './capabilityCatalog';
export { TrustAlgorithm, defaultTrustWeights, signalsFromIdentity } from './trustAlgorithm';
export type { TrustSignals, TrustWeights, TrustScore, Provenance } from './trustAlgorithm';
export { compareDna } from './dnaDeviation';
export type { DnaComparison, SyscallShift } from './dnaDeviation';
