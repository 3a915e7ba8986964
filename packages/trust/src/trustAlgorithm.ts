import {
  ForgeError,
  assuranceLevels,
  type AssuranceLevel,
  type IdentityContext,
  type TrustVector,
} from '@forgeone/common';

/** How a package reached the kernel. `hybrid`: signed with both Ed25519 and ML-DSA. */
export type Provenance = 'unsigned' | 'signed' | 'hybrid';

/** The raw facts the trust algorithm weighs; anything missing counts as "no evidence". */
export interface TrustSignals {
  /** How strongly the identity was established. Default `none`. */
  readonly assurance?: AssuranceLevel | undefined;
  /** Default `unsigned`. */
  readonly provenance?: Provenance | undefined;
  /** False when the signer is known but not among the trusted ones: halves the provenance signal. */
  readonly trustedSigner?: boolean | undefined;
  /** Deviation of the execution DNA from its baseline, in [0, 1] (see `compareDna`). */
  readonly dnaDeviation?: number | undefined;
  /** Share of the caller's calls that were refused, in [0, 1]; used when there is no baseline. */
  readonly deniedRatio?: number | undefined;
  /** Anomaly score from the anomaly detector, in [0, 1]. Default 0. */
  readonly anomaly?: number | undefined;
  /** How many times this subject was quarantined before. Default 0. */
  readonly quarantines?: number | undefined;
}

/** Weight of each signal; only their ratios matter. */
export type TrustWeights = Readonly<Record<keyof TrustVector, number>>;

/** Anomaly and provenance weigh most: they are the strongest evidence against and for a workload. */
export const defaultTrustWeights: TrustWeights = {
  identityAssurance: 0.2,
  provenance: 0.25,
  behaviour: 0.2,
  anomaly: 0.25,
  quarantineHistory: 0.1,
};

/** A trust score with the evidence behind it. */
export interface TrustScore {
  /** In [0, 1]; 1 is fully trusted. */
  readonly score: number;
  /** The normalised signals (see `TrustAlgorithm.vector`). */
  readonly vector: TrustVector;
  /** What each signal added to the score (they sum to `score`). */
  readonly contributions: Readonly<Record<keyof TrustVector, number>>;
}

const provenanceValue: Record<Provenance, number> = { unsigned: 0, signed: 0.6, hybrid: 1 };
const keys = ['identityAssurance', 'provenance', 'behaviour', 'anomaly', 'quarantineHistory'] as const;

function unit(value: number | undefined, fallback: number): number {
  if (value === undefined || Number.isNaN(value)) return fallback;
  return Math.min(1, Math.max(0, value));
}

/**
 * NIST SP 800-207 §3.3.1 trust algorithm (score-based, contextual):
 *
 * `score = Σ wₖ·cₖ / Σ wₖ` over identity assurance, provenance, behaviour, anomaly and quarantine
 * history, where each `cₖ ∈ [0, 1]` is the signal's contribution (1 = trustworthy) — see the
 * package README for how each is derived.
 */
export class TrustAlgorithm {
  readonly weights: TrustWeights;
  readonly #total: number;

  constructor(weights: { readonly [K in keyof TrustWeights]?: number | undefined } = {}) {
    const merged: Record<keyof TrustVector, number> = { ...defaultTrustWeights };
    for (const key of keys) merged[key] = weights[key] ?? defaultTrustWeights[key];
    for (const key of keys) {
      const w = merged[key];
      if (!Number.isFinite(w) || w < 0) {
        throw new ForgeError('FORGE_INVALID_INPUT', `trust weight ${key} must be a number >= 0, got ${w}`);
      }
    }
    const total = keys.reduce((sum, key) => sum + merged[key], 0);
    if (total <= 0) throw new ForgeError('FORGE_INVALID_INPUT', 'at least one trust weight must be above 0');
    this.weights = merged;
    this.#total = total;
  }

  /**
   * The signals normalised to [0, 1], each with its natural meaning: assurance, provenance and
   * behaviour (conformity to the baseline) are 1 when good; anomaly and quarantine history are 1
   * when bad.
   */
  vector(signals: TrustSignals): TrustVector {
    const assurance = assuranceLevels.indexOf(signals.assurance ?? 'none');
    const provenance =
      provenanceValue[signals.provenance ?? 'unsigned'] * (signals.trustedSigner === false ? 0.5 : 1);
    const deviation =
      signals.dnaDeviation !== undefined ? unit(signals.dnaDeviation, 0) : unit(signals.deniedRatio, 0);
    const quarantines = Math.max(0, signals.quarantines ?? 0);
    return {
      identityAssurance: Math.max(0, assurance) / (assuranceLevels.length - 1),
      provenance,
      behaviour: 1 - deviation,
      anomaly: unit(signals.anomaly, 0),
      quarantineHistory: 1 - 2 ** -quarantines,
    };
  }

  /** The trust score for `signals`, with the vector and each signal's contribution. */
  score(signals: TrustSignals): TrustScore {
    const vector = this.vector(signals);
    const w = this.weights;
    const total = this.#total;
    // Spelled out, not looped over the keys: an enforcer scores again whenever a caller's share of
    // refused calls moves. Each part is 1 = trustworthy; they are summed in the keys' order.
    const contributions: Record<keyof TrustVector, number> = {
      identityAssurance: (w.identityAssurance * vector.identityAssurance) / total,
      provenance: (w.provenance * vector.provenance) / total,
      behaviour: (w.behaviour * vector.behaviour) / total,
      anomaly: (w.anomaly * (1 - vector.anomaly)) / total,
      quarantineHistory: (w.quarantineHistory * (1 - vector.quarantineHistory)) / total,
    };
    const score =
      contributions.identityAssurance +
      contributions.provenance +
      contributions.behaviour +
      contributions.anomaly +
      contributions.quarantineHistory;
    return { score: Math.min(1, Math.max(0, score)), vector, contributions };
  }
}

/**
 * The signals an identity carries: its assurance, and its provenance — unsigned without a
 * `signer`, `hybrid` when its `provenance` attribute says so, else `signed`.
 */
export function signalsFromIdentity(
  identity: IdentityContext,
): Pick<TrustSignals, 'assurance' | 'provenance'> {
  const provenance: Provenance =
    identity.signer === undefined
      ? 'unsigned'
      : identity.attributes['provenance'] === 'hybrid'
        ? 'hybrid'
        : 'signed';
  return { assurance: identity.assurance, provenance };
}
