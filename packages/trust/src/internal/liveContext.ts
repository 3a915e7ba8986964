import type { ExecutionDNA, IdentityContext, SyscallRequest } from '@forgeone/common';
import { signalsFromIdentity, type TrustAlgorithm, type TrustSignals } from '../trustAlgorithm';
import type { ContainerProfile } from './containerProfiles';
import { scoreTrust, type EvaluationContext, type TrustScoring } from './evalState';

/** The trust signals of a call: the identity's, plus the container's refusals and history. */
export function signalsOf(
  request: SyscallRequest,
  dna: ExecutionDNA,
  profile: ContainerProfile,
  anomaly: number | undefined,
): TrustSignals {
  const identity = signalsFromIdentity(request.identity);
  return {
    assurance: identity.assurance,
    provenance: identity.provenance,
    deniedRatio: deniedRatioOf(dna),
    anomaly: anomaly ?? request.scores?.anomaly,
    quarantines: profile.quarantines,
  };
}

function deniedRatioOf(dna: ExecutionDNA): number {
  return dna.totalCalls > 0 ? dna.deniedCalls / dna.totalCalls : 0;
}

/** The last trust score one algorithm gave, and every input of the signals it came from. */
interface ScoredTrust {
  readonly algorithm: TrustAlgorithm;
  identity: IdentityContext;
  deniedRatio: number;
  anomaly: number | undefined;
  quarantines: number;
  score: number;
}

/** Algorithms whose last score is kept: a graph's, and the enforcer's for its thresholds. */
const MAX_ALGORITHMS = 2;

/**
 * The context of one container's calls, kept with its profile and pointed at the current request
 * before each decision: nothing is built unless a condition reads it (most decisions read none).
 */
export class LiveContext implements EvaluationContext, TrustScoring {
  request: SyscallRequest | undefined;
  readonly #profile: ContainerProfile;
  readonly #scored: ScoredTrust[] = [];

  constructor(profile: ContainerProfile) {
    this.#profile = profile;
  }

  get dna(): ContainerProfile['dna'] {
    return this.#profile.dna;
  }

  get ruleHits(): Readonly<Record<string, number>> {
    return this.#profile.ruleHits;
  }

  get signals(): TrustSignals | undefined {
    return this.request && signalsOf(this.request, this.#profile.dna, this.#profile, undefined);
  }

  /**
   * `algorithm.score(this.signals).score`, computed again only when one of the signals' inputs
   * changed: the identity (an identity object is never changed, which the graph's decision cache
   * relies on too), the share of refused calls (it stays 0 while nothing is refused), the request's
   * anomaly score or the container's quarantines.
   */
  [scoreTrust](algorithm: TrustAlgorithm): number | undefined {
    const request = this.request;
    if (request === undefined) return undefined;
    const deniedRatio = deniedRatioOf(this.#profile.dna);
    const anomaly = request.scores?.anomaly;
    const quarantines = this.#profile.quarantines;
    let last = this.#scored.find((scored) => scored.algorithm === algorithm);
    if (
      last !== undefined &&
      last.identity === request.identity &&
      last.deniedRatio === deniedRatio &&
      last.anomaly === anomaly &&
      last.quarantines === quarantines
    ) {
      return last.score;
    }
    const score = algorithm.score(signalsOf(request, this.#profile.dna, this.#profile, undefined)).score;
    if (last === undefined) {
      if (this.#scored.length >= MAX_ALGORITHMS) this.#scored.shift();
      last = { algorithm, identity: request.identity, deniedRatio, anomaly, quarantines, score };
      this.#scored.push(last);
    } else {
      last.identity = request.identity;
      last.deniedRatio = deniedRatio;
      last.anomaly = anomaly;
      last.quarantines = quarantines;
      last.score = score;
    }
    return score;
  }
}
