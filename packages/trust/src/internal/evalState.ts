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

/**
 * The key of a context's own way to score trust (the enforcer's live context keeps the score per
 * container and computes it again only when an input changed). A symbol, so that no caller's
 * context object can claim it by accident.
 */
export const scoreTrust: unique symbol = Symbol('forgeone.scoreTrust');

/** A context that scores trust itself: the same score its `signals` give under `algorithm`. */
export interface TrustScoring {
  [scoreTrust](algorithm: TrustAlgorithm): number | undefined;
}

/** The trust score `context`'s signals give under `algorithm`; undefined without signals. */
export function signalsTrust(context: EvaluationContext, algorithm: TrustAlgorithm): number | undefined {
  const own = (context as Partial<TrustScoring>)[scoreTrust];
  if (own !== undefined) return own.call(context, algorithm);
  const signals = context.signals;
  return signals ? algorithm.score(signals).score : undefined;
}

/** A compiled marker: a predicate over the context, evaluated at most once per decision. */
export type MarkerTest = (state: EvalState) => boolean;

/**
 * A compiled marker with its value in the evaluation that last tested it. Evaluations are numbered
 * from one counter, so the memo needs no per-decision map and is never read by another evaluation.
 */
export interface MarkerSlot {
  readonly test: MarkerTest;
  evaluation: number;
  holds: boolean;
}

/** One slot per compiled marker, for one graph's evaluations. */
export function markerSlots(markers: ReadonlyMap<string, MarkerTest>): ReadonlyMap<string, MarkerSlot> {
  return new Map([...markers].map(([name, test]) => [name, { test, evaluation: 0, holds: false }]));
}

let evaluations = 0;

/** Per-decision state: the request, the context, memoised scores and markers, and whether any
 * condition that depends on more than (identity, syscall, arguments) was consulted. */
export class EvalState {
  readonly request: SyscallRequest;
  readonly context: EvaluationContext;
  /** True once a time, score or DNA condition was consulted: the decision must not be cached. */
  dynamic = false;
  readonly #algorithm: TrustAlgorithm;
  readonly #markers: ReadonlyMap<string, MarkerSlot>;
  readonly #evaluation = (evaluations += 1);
  #trust: number | undefined | null = null;

  constructor(
    request: SyscallRequest,
    context: EvaluationContext,
    algorithm: TrustAlgorithm,
    markers: ReadonlyMap<string, MarkerSlot>,
  ) {
    this.request = request;
    this.context = context;
    this.#algorithm = algorithm;
    this.#markers = markers;
  }

  trust(): number | undefined {
    if (this.#trust === null) {
      const given = this.context.scores?.trust ?? this.request.scores?.trust;
      this.#trust = given ?? signalsTrust(this.context, this.#algorithm);
    }
    return this.#trust;
  }

  anomaly(): number | undefined {
    return this.context.scores?.anomaly ?? this.request.scores?.anomaly;
  }

  marker(name: string): boolean {
    const slot = this.#markers.get(name);
    if (slot !== undefined && slot.evaluation === this.#evaluation) return slot.holds;
    const asserted = this.context.markers?.includes(name) ?? false;
    const holds = asserted || (slot !== undefined && slot.test(this));
    if (slot !== undefined) {
      slot.evaluation = this.#evaluation;
      slot.holds = holds;
    }
    return holds;
  }
}
