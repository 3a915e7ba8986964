import { isForgeError, type Clock, type StoragePort } from '@forgeone/common';
import {
  RevocationDocumentSchema,
  loadTrustRoot,
  readRootFile,
  rootStanding,
  TRUST_STATE_NAMESPACE,
  type AlgorithmRegistry,
  type TrustRoot,
  type VersionStore,
} from '@forgeone/crypto';
import type { BootParameters } from './bootParameters';
import type { TrustAnchor } from './trustAnchor';

/** Where a revocation list came from. */
export type RevocationSource = 'embedded' | 'file' | 'document' | 'none';

/**
 * The trust anchor's revocation status, and what it means for boot:
 * - `valid`: the list was read and verified (or none was issued: `source: 'none'`) and the root's
 *   root role still meets its threshold without the keys it revokes: boot.
 * - `revoked`: the root stands only on revoked keys: boot is refused (FORGE_BOOT_ROOT_REVOKED).
 * - `unknown`: the list could not be read or does not verify (`reason` says why), the root carries
 *   none where the store trusted one before (it may have been stripped: the list is not covered by
 *   the root's signatures), or there is no root to check it against: boot, and say so; refused
 *   under `requireRevocation`.
 */
export type RevocationStatus =
  | {
      readonly status: 'valid';
      readonly source: RevocationSource;
      /** The list's version, 0 when none was issued. */
      readonly version: number;
      /** Keys of this root the list revokes (they sign nothing any more). */
      readonly revokedKeyIds: readonly string[];
    }
  | {
      readonly status: 'revoked';
      readonly source: RevocationSource;
      readonly version: number;
      readonly revokedKeyIds: readonly string[];
      readonly reason: string;
    }
  | { readonly status: 'unknown'; readonly source: RevocationSource; readonly reason: string };

/** The status of a kernel booted without a trust root. */
export const NO_ROOT_REVOCATION: RevocationStatus = {
  status: 'unknown',
  source: 'none',
  reason: 'no trust root was given, so there is nothing to check revocations against',
};

interface Deps {
  readonly clock: Clock;
  readonly registry?: AlgorithmRegistry | undefined;
  readonly store?: StoragePort | undefined;
}

/**
 * Reads the revocation list the parameters name (else the root's embedded one), verifies it
 * against the anchor's root role, and judges the anchor. With a store, a root or list older than
 * one trusted before is refused (FORGE_ROOT_ROLLBACK, FORGE_REVOCATION_ROLLBACK): a rollback is an
 * attack, not an unknown.
 */
export async function checkRevocation(
  anchor: TrustAnchor,
  params: BootParameters,
  deps: Deps,
): Promise<{ readonly status: RevocationStatus; readonly trustRoot: TrustRoot }> {
  const read = await readRevocations(anchor, params);
  if ('unknown' in read) return { status: read.unknown, trustRoot: await load(anchor, undefined, deps) };
  const { source, document } = read;
  if (document === undefined) {
    try {
      // Checked against the store as it is: no list where one was trusted before is not "none issued".
      const trustRoot = await load(anchor, undefined, deps, { listVersion: 'checked' });
      return { status: { status: 'valid', source, version: 0, revokedKeyIds: [] }, trustRoot };
    } catch (error) {
      if (!(isForgeError(error) && error.code === 'FORGE_REVOCATION_ROLLBACK')) throw error;
      return {
        status: {
          status: 'unknown',
          source,
          reason: `no revocation list was given, but list v${String(error.details['trusted'])} was trusted before: it may have been removed from the root`,
        },
        trustRoot: await load(anchor, undefined, deps),
      };
    }
  }
  let trustRoot: TrustRoot;
  try {
    trustRoot = await load(anchor, document, deps);
  } catch (error) {
    if (!(isForgeError(error) && error.code === 'FORGE_REVOCATION_INVALID')) throw error;
    return {
      status: { status: 'unknown', source, reason: `the revocation list does not verify: ${error.message}` },
      trustRoot: await load(anchor, undefined, deps),
    };
  }
  const revokedKeyIds = anchor.keyIds.filter((id) => trustRoot.revoked.has(id));
  const standing = rootStanding(trustRoot);
  const version = trustRoot.revocationVersion;
  if (standing.met) return { status: { status: 'valid', source, version, revokedKeyIds }, trustRoot };
  return {
    status: {
      status: 'revoked',
      source,
      version,
      revokedKeyIds,
      reason: `${describeRevoked(standing.revokedRootKeys, document)}; root v${trustRoot.version}'s root role no longer meets its threshold (${standing.unmet})`,
    },
    trustRoot,
  };
}

type ReadRevocations =
  { readonly source: RevocationSource; readonly document: unknown } | { readonly unknown: RevocationStatus };

async function readRevocations(anchor: TrustAnchor, params: BootParameters): Promise<ReadRevocations> {
  if (params.revocations !== undefined) return { source: 'document', document: params.revocations };
  if (params.revocationsPath !== undefined) {
    try {
      return { source: 'file', document: await readRootFile(params.revocationsPath) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        unknown: {
          status: 'unknown',
          source: 'file',
          reason: `the revocation list ${params.revocationsPath} cannot be read: ${message}`,
        },
      };
    }
  }
  if (anchor.embeddedRevocations !== undefined)
    return { source: 'embedded', document: anchor.embeddedRevocations };
  return { source: 'none', document: undefined };
}

/**
 * Loads the anchor through crypto's `loadTrustRoot`, so that the store's rollback protection
 * applies. Without a list the root alone is checked against the store (unless `listVersion:
 * 'checked'`): a list that cannot be read is an unknown status, not a rolled-back list.
 */
function load(
  anchor: TrustAnchor,
  revocations: unknown,
  deps: Deps,
  { listVersion }: { readonly listVersion?: 'checked' } = {},
): Promise<TrustRoot> {
  const hide = revocations === undefined && listVersion !== 'checked';
  const store = deps.store && (hide ? rootVersionsOnly(deps.store) : deps.store);
  return loadTrustRoot(anchor.chain, {
    clock: deps.clock,
    ...(deps.registry ? { registry: deps.registry } : {}),
    ...(store ? { store } : {}),
    ...(revocations === undefined ? {} : { revocations }),
  });
}

/** The store as `loadTrustRoot` sees it when no list is applied: the trusted list version hidden. */
function rootVersionsOnly(store: VersionStore): VersionStore {
  return {
    getRecord: (namespace, key) =>
      namespace === TRUST_STATE_NAMESPACE && key === 'revocations'
        ? Promise.resolve(undefined)
        : store.getRecord(namespace, key),
    putRecord: (namespace, key, value, options) => store.putRecord(namespace, key, value, options),
  };
}

/** "root key 1a2b3c4d5e6f7a8b… revoked (compromised)" for each revoked root-role key. */
function describeRevoked(ids: readonly string[], document: unknown): string {
  const parsed = RevocationDocumentSchema.safeParse(document);
  const reasons = new Map(
    parsed.success ? parsed.data.signed.revoked.map((r) => [r.keyid, r.reason] as const) : [],
  );
  const parts = ids.map((id) => {
    const reason = reasons.get(id);
    return `root key ${id.slice(0, 16)}… revoked${reason === undefined ? '' : ` (${reason})`}`;
  });
  return parts.length > 0 ? parts.join(', ') : 'no root key is left';
}
