import type { Decision, KernelEventBus, PolicyDecisionPoint, SyscallRequest } from '@forgeone/common';
import {
  validatePolicy,
  validatePolicyFile,
  validatePolicyText,
  type CompilePolicyOptions,
  type PolicyValidation,
} from './compilePolicy';
import type { EvaluationContext } from './internal/evalState';
import type { EvaluateOptions, ZtaDecision, ZtaPolicyGraph } from './ztaPolicyGraph';

export interface PolicyEngineOptions {
  /** Publishes `policy.reloaded` after each successful reload. */
  readonly events?: KernelEventBus;
  /** Applied to every reload (unknown syscalls are refused, capability checks run). */
  readonly knownSyscalls?: Iterable<string>;
  readonly capabilities?: readonly string[];
}

/**
 * The policy in force, with hot reload: a new policy is validated and compiled completely before
 * it replaces the old one in a single assignment, so a decision sees either the old graph or the
 * new one, never a mix; an invalid policy is refused with every problem listed and the old one
 * stays. The decision cache belongs to the graph, so a reload starts with an empty cache. It has
 * no `decidesBySyscallOnlyFor`, unlike its graph: a reload may change any decision, so none is
 * promised for later calls.
 */
export class PolicyEngine implements PolicyDecisionPoint {
  #graph: ZtaPolicyGraph;
  readonly #options: PolicyEngineOptions;
  #reloads = 0;

  constructor(graph: ZtaPolicyGraph, options: PolicyEngineOptions = {}) {
    this.#graph = graph;
    this.#options = options;
  }

  /** The graph in force. */
  get graph(): ZtaPolicyGraph {
    return this.#graph;
  }

  /** How many reloads succeeded. */
  get reloads(): number {
    return this.#reloads;
  }

  decide(request: SyscallRequest): Decision {
    return this.#graph.evaluate(request);
  }

  evaluate(
    request: SyscallRequest,
    context: EvaluationContext = {},
    options: EvaluateOptions = {},
  ): ZtaDecision {
    return this.#graph.evaluate(request, context, options);
  }

  /** Validates a parsed document and swaps it in when valid. */
  reload(document: unknown, options: Pick<CompilePolicyOptions, 'file'> = {}): PolicyValidation {
    return this.#swap(validatePolicy(document, { ...this.#compileOptions(), ...options }));
  }

  /** Validates YAML or JSON text and swaps it in when valid. */
  reloadText(text: string, file?: string): PolicyValidation {
    return this.#swap(
      validatePolicyText(text, { ...this.#compileOptions(), ...(file === undefined ? {} : { file }) }),
    );
  }

  /** Reads, validates and swaps in a policy file (a missing file throws FORGE_POLICY_NOT_FOUND). */
  async reloadFile(path: string): Promise<PolicyValidation> {
    return this.#swap(await validatePolicyFile(path, this.#compileOptions()));
  }

  #compileOptions(): CompilePolicyOptions {
    return {
      ...(this.#options.knownSyscalls === undefined ? {} : { knownSyscalls: this.#options.knownSyscalls }),
      ...(this.#options.capabilities === undefined ? {} : { capabilities: this.#options.capabilities }),
    };
  }

  #swap(result: PolicyValidation): PolicyValidation {
    if (result.ok) {
      this.#graph = result.graph;
      this.#reloads += 1;
      this.#options.events?.emit('policy.reloaded', { version: result.graph.label });
    }
    return result;
  }
}
