import type { Clock } from '@forgeone/common';
import { readRootFile, verifyRootChain, type AlgorithmRegistry, type TrustRoot } from '@forgeone/crypto';
import type { BootParameters } from './bootParameters';

/** What people and the API see of a verified trust anchor (JSON). */
export interface TrustAnchorSummary {
  readonly version: number;
  /** Every key the root lists. */
  readonly keyIds: readonly string[];
  /** The keys of its root role (the ones that sign roots and revocation lists). */
  readonly rootKeyIds: readonly string[];
  /** Expiry, ISO-8601. */
  readonly expires: string;
  /** Where it came from: a path, or `document`. */
  readonly source: string;
}

/**
 * The trust anchor a kernel boots on: the verified root (signature thresholds over its own keys,
 * version chain, expiry), before any revocation list is applied.
 */
export interface TrustAnchor extends TrustAnchorSummary {
  readonly trustRoot: TrustRoot;
  /** The chain as verified, without the embedded revocation list (applied separately). */
  readonly chain: readonly unknown[];
  /** The revocation list embedded in the newest root, if any. */
  readonly embeddedRevocations: unknown;
}

/**
 * Reads and verifies the trust root the parameters name, or returns undefined when they name
 * none. Throws crypto's codes: FORGE_ROOT_IO, _INVALID, _BAD_SIGNATURE, _THRESHOLD, _EXPIRED, _CHAIN.
 */
export async function verifyTrustAnchor(
  params: BootParameters,
  deps: { readonly clock: Clock; readonly registry?: AlgorithmRegistry | undefined },
): Promise<TrustAnchor | undefined> {
  let given: unknown;
  if (params.rootPath !== undefined) given = await readRootFile(params.rootPath);
  else if (params.root !== undefined) given = params.root;
  else return undefined;
  const { chain, embeddedRevocations } = withoutEmbeddedRevocations(Array.isArray(given) ? given : [given]);
  const trustRoot = verifyRootChain(chain, {
    clock: deps.clock,
    ...(deps.registry ? { registry: deps.registry } : {}),
  });
  return {
    version: trustRoot.version,
    keyIds: [...trustRoot.keys.keys()],
    rootKeyIds: [...trustRoot.roles.root.keyids],
    expires: new Date(trustRoot.expires).toISOString(),
    source: params.rootSource ?? params.rootPath ?? 'document',
    trustRoot,
    chain,
    embeddedRevocations,
  };
}

/** The summary of an anchor (no key material, no documents). */
export function summarizeAnchor(anchor: TrustAnchor): TrustAnchorSummary {
  const { version, keyIds, rootKeyIds, expires, source } = anchor;
  return { version, keyIds: [...keyIds], rootKeyIds: [...rootKeyIds], expires, source };
}

/**
 * The revocation list embedded in a root is not covered by the root's signatures: it is taken
 * off here and judged on its own, so that a damaged list makes the revocation status unknown
 * instead of passing for a damaged root.
 */
function withoutEmbeddedRevocations(chain: readonly unknown[]): {
  chain: unknown[];
  embeddedRevocations: unknown;
} {
  const last = chain[chain.length - 1];
  if (typeof last !== 'object' || last === null || Array.isArray(last) || !('revocations' in last))
    return { chain: [...chain], embeddedRevocations: undefined };
  const { revocations, ...rest } = last as Record<string, unknown>;
  return { chain: [...chain.slice(0, -1), rest], embeddedRevocations: revocations };
}
