import type { ExecutionDNA, SyscallRequest } from '@forgeone/common';
import type { TrustAlgorithm, TrustSignals } from '../trustAlgorithm';

/**
 * What the caller knows besides the request: scores, behaviour and history. Everything is
 * optional; a condition on something unknown does not hold (unknown trust is not trust).
 */
export interface EvaluationContext {
  /** Scores that override the request's own `scores`. */
  readonly scores?: Readonly<{ trust?: number | undefined; anomaly?: number | undefined }> | undefined;
  /** Signals to compute a trust score from, when no trust score is given. */
  readonly signals?: TrustSignals | undefined;
  /** The caller's execution DNA so far (call counts, refusals). */
  readonly dna?: ExecutionDNA | undefined;
  /** What the caller's DNA normally looks like; enables `deviation` and `newSyscalls` markers. */
  readonly baseline?: ExecutionDNA | undefined;
  /** How many calls each rule (`node/rule`) decided for this caller so far. */
  readonly ruleHits?: Readonly<Record<string, number>> | undefined;
  /** Markers asserted from outside (by an anomaly detector, or a test case). */
  readonly markers?: readonly string[] | undefined;
}

/** A compiled marker: a predicate over the context, evaluated at most once per decision. */
export type MarkerTest = (state: EvalState) => boolean;

/** Per-decision state: the request, the context, memoised scores and markers, and whether any
 * condition that depends on more than (identity, syscall, arguments) was consulted. */
export class EvalState {
  readonly request: SyscallRequest;
  readonly context: EvaluationContext;
  /** True once a time, score or DNA condition was consulted: the decision must not be cached. */
  dynamic = false;
  readonly #algorithm: TrustAlgorithm;
  readonly #markers: ReadonlyMap<string, MarkerTest>;
  #trust: number | undefined | null = null;
  #markerMemo: Map<string, boolean> | undefined;

  constructor(
    request: SyscallRequest,
    context: EvaluationContext,
    algorithm: TrustAlgorithm,
    markers: ReadonlyMap<string, MarkerTest>,
  ) {
    this.request = request;
    this.context = context;
    this.#algorithm = algorithm;
    this.#markers = markers;
  }

  trust(): number | undefined {
    if (this.#trust === null) {
      const given = this.context.scores?.trust ?? this.request.scores?.trust;
      this.#trust =
        given ?? (this.context.signals ? this.#algorithm.score(this.context.signals).score : undefined);
    }
    return this.#trust;
  }

  anomaly(): number | undefined {
    return this.context.scores?.anomaly ?? this.request.scores?.anomaly;
  }

  marker(name: string): boolean {
    const memo = (this.#markerMemo ??= new Map());
    const known = memo.get(name);
    if (known !== undefined) return known;
    const asserted = this.context.markers?.includes(name) ?? false;
    const test = this.#markers.get(name);
    const holds = asserted || (test !== undefined && test(this));
    memo.set(name, holds);
    return holds;
  }
}
