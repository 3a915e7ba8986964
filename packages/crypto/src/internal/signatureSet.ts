import type { AlgorithmRegistry } from '../algorithmRegistry';
import type { PublicKey } from '../keys';

/** What became of one signature when a role's threshold was evaluated. */
export type SignatureStatus = 'counted' | 'not-in-role' | 'revoked' | 'bad' | 'duplicate';

export interface SignatureInput {
  readonly keyId: string;
  /** The algorithm the signature claims (binary packages carry it; JSON documents take the key's). */
  readonly algorithm?: string;
  readonly signature: Uint8Array;
}

export interface RoleSpec {
  readonly keyids: readonly string[];
  /** Signatures needed per algorithm, e.g. { ed25519: 1, 'ml-dsa-65': 1 }. */
  readonly threshold: Readonly<Record<string, number>>;
}

export interface ThresholdOutcome {
  readonly statuses: readonly SignatureStatus[];
  readonly counts: Readonly<Record<string, number>>;
  /** Algorithms whose threshold is not met, with have/need. */
  readonly unmet: ReadonlyArray<{ algorithm: string; have: number; need: number }>;
  readonly met: boolean;
}

/**
 * Verifies `signatures` over `message` against `role`: each distinct, unrevoked role key with a
 * valid signature counts once for its algorithm. Every algorithm in the threshold must reach its
 * count. Revoked keys never count; signatures are verified even after the threshold is met so a
 * caller can refuse any bad one.
 */
export function evaluateThreshold(
  role: RoleSpec,
  keys: ReadonlyMap<string, PublicKey>,
  signatures: readonly SignatureInput[],
  message: Uint8Array,
  registry: AlgorithmRegistry,
  revoked: ReadonlySet<string>,
): ThresholdOutcome {
  const inRole = new Set(role.keyids);
  const seen = new Set<string>();
  const counts: Record<string, number> = {};
  const statuses = signatures.map((sig): SignatureStatus => {
    if (seen.has(sig.keyId)) return 'duplicate';
    seen.add(sig.keyId);
    const key = keys.get(sig.keyId);
    if (key === undefined || !inRole.has(sig.keyId)) return 'not-in-role';
    if (revoked.has(sig.keyId)) return 'revoked';
    if (sig.algorithm !== undefined && sig.algorithm !== key.algorithm) return 'bad';
    const algorithm = registry.find(key.algorithm);
    if (algorithm === undefined || !algorithm.verify(key.bytes, message, sig.signature)) return 'bad';
    counts[key.algorithm] = (counts[key.algorithm] ?? 0) + 1;
    return 'counted';
  });
  const unmet = Object.entries(role.threshold)
    .filter(([algorithm, need]) => (counts[algorithm] ?? 0) < need)
    .map(([algorithm, need]) => ({ algorithm, have: counts[algorithm] ?? 0, need }));
  return { statuses, counts, unmet, met: unmet.length === 0 && Object.keys(role.threshold).length > 0 };
}

/** "ed25519 1/1, ml-dsa-65 0/1" */
export function describeUnmet(unmet: ThresholdOutcome['unmet']): string {
  return unmet.map((u) => `${u.algorithm} ${u.have}/${u.need}`).join(', ');
}

/** Domain-separated bytes to sign: `ForgeOne/<kind>/v1\0` then the payload. */
export function signingMessage(kind: string, payload: Uint8Array): Uint8Array {
  const prefix = Buffer.from(`ForgeOne/${kind}/v1\0`, 'utf8');
  const out = new Uint8Array(prefix.length + payload.length);
  out.set(prefix);
  out.set(payload, prefix.length);
  return out;
}
