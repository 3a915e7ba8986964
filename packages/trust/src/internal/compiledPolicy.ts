import type { DecisionAction } from '@forgeone/common';
import type { PolicyDocument } from '../policyDocument';
import type { PolicyIssue } from '../policyIssue';
import type { TrustAlgorithm } from '../trustAlgorithm';
import type { CompiledMatch } from './compileConditions';
import type { MarkerTest } from './evalState';

/** How restrictive each action is; at equal weight the more restrictive rule decides. */
export const severity: Readonly<Record<DecisionAction, number>> = {
  allow: 0,
  ask: 1,
  deny: 2,
  quarantine: 3,
};

export interface CompiledRule {
  /** `node/rule`. */
  readonly id: string;
  readonly node: string;
  readonly nodeIndex: number;
  readonly name: string;
  readonly action: DecisionAction;
  /** Node weight + rule weight. */
  readonly weight: number;
  /** `weight * 4 + severity`: one number orders precedence. */
  readonly rank: number;
  /** Position in the document (nodes in order, then rules): the last tie-breaker. */
  readonly order: number;
  readonly match: CompiledMatch;
  /** The reason text when this rule decides. */
  readonly reason: string;
}

export interface CompiledEdge {
  readonly from: number;
  readonly to: number;
  readonly match: CompiledMatch | undefined;
  /** `when` described, or `always`. */
  readonly text: string;
}

export interface CompiledNode {
  readonly name: string;
  readonly rules: readonly CompiledRule[];
  readonly edges: readonly CompiledEdge[];
}

/** Everything a ZtaPolicyGraph needs, produced by compilePolicy after validation. */
export interface CompiledPolicy {
  readonly document: PolicyDocument;
  readonly nodes: readonly CompiledNode[];
  readonly entry: number;
  readonly markers: ReadonlyMap<string, MarkerTest>;
  readonly trust: TrustAlgorithm;
  readonly warnings: readonly PolicyIssue[];
  /** SHA-256 of the canonical document: which policy decided, in audit entries. */
  readonly digest: string;
  readonly file?: string;
  /** False turns the decision cache off (benchmarks, debugging). */
  readonly cache: boolean;
}
