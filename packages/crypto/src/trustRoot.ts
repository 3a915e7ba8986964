import { z } from 'zod';
import { ForgeError, parseWith, systemClock, type Clock, type ForgeErrorCode } from '@forgeone/common';
import { defaultAlgorithms, type AlgorithmRegistry } from './algorithmRegistry';
import { publicKeyFromTuf, tufKey, type PrivateKey, type PublicKey, type TufKey } from './keys';
import { verifyRevocationList, RevocationDocumentSchema, type RevocationDocument } from './revocationList';
import {
  raiseStoredVersion,
  readStoredVersion,
  TRUST_STATE_NAMESPACE,
  type VersionStore,
} from './versionStore';
import {
  describeUnmet,
  evaluateThreshold,
  type RoleSpec,
  type SignatureStatus,
} from './internal/signatureSet';
import {
  documentMessage,
  HexSchema,
  KeyIdSchema,
  mergeSignatures,
  signDocument,
  SignaturesSchema,
  toSignatureInputs,
  type SignatureEntry,
} from './internal/signedDocument';

export const ROOT_SPEC_VERSION = '1.0';
/** Most keys a root holds, and so the highest threshold a role can have. */
export const MAX_ROOT_KEYS = 256;
const MAX_KEYS = MAX_ROOT_KEYS;

const RoleSchema = z.strictObject({
  keyids: z.array(KeyIdSchema).min(1).max(MAX_KEYS),
  threshold: z.record(z.string().min(1).max(64), z.number().int().min(1).max(MAX_KEYS)),
});

const TufKeySchema = z.strictObject({
  keytype: z.string().min(1).max(64),
  scheme: z.string().min(1).max(64),
  keyval: z.strictObject({ public: HexSchema }),
});

export const RootSignedSchema = z.strictObject({
  type: z.literal('root'),
  spec_version: z.string().regex(/^1\.\d{1,4}(?:\.\d{1,4})?$/),
  version: z
    .number()
    .int()
    .min(1)
    .max(2 ** 31),
  expires: z.iso.datetime(),
  keys: z.record(KeyIdSchema, TufKeySchema),
  roles: z.object({ root: RoleSchema, packages: RoleSchema }).catchall(RoleSchema),
});

export const RootDocumentSchema = z.strictObject({
  signed: RootSignedSchema,
  signatures: SignaturesSchema,
  /** A revocation list signed by this root's root role (a ForgeOne extension of the TUF layout). */
  revocations: RevocationDocumentSchema.optional(),
});

export type RootSigned = z.infer<typeof RootSignedSchema>;
export type RootDocument = z.infer<typeof RootDocumentSchema>;
export type { RoleSpec };

/** A verified trust root: the last root of a checked chain, with revocations applied. */
export interface TrustRoot {
  readonly version: number;
  /** Expiry, ms since the epoch. */
  readonly expires: number;
  readonly keys: ReadonlyMap<string, PublicKey>;
  readonly roles: { readonly root: RoleSpec; readonly packages: RoleSpec } & Readonly<
    Record<string, RoleSpec>
  >;
  /** Key ids of the verified revocation list; they never count toward any threshold. */
  readonly revoked: ReadonlySet<string>;
  /** Version of the revocation list, 0 when there is none. */
  readonly revocationVersion: number;
  readonly registry: AlgorithmRegistry;
  readonly document: RootDocument;
}

export interface RoleInput {
  readonly keys: readonly PublicKey[];
  readonly threshold: Readonly<Record<string, number>>;
}

export interface CreateRootOptions {
  readonly version?: number;
  readonly expires: Date | string;
  /** Keys and per-algorithm thresholds of the root role. */
  readonly root: RoleInput;
  /** Keys and per-algorithm thresholds of the packages role (default: the root role's). */
  readonly packages?: RoleInput;
  readonly registry?: AlgorithmRegistry;
}

/** The `signed` part of a new root; check it with {@link parseRootDocument} after signing. */
export function createRootSigned(options: CreateRootOptions): RootSigned {
  const registry = options.registry ?? defaultAlgorithms;
  const packages = options.packages ?? options.root;
  const keys: Record<string, TufKey> = {};
  for (const key of [...options.root.keys, ...packages.keys]) {
    registry.get(key.algorithm);
    keys[key.keyId] = tufKey(key);
  }
  const expires = typeof options.expires === 'string' ? new Date(options.expires) : options.expires;
  if (Number.isNaN(expires.getTime()))
    throw new ForgeError('FORGE_ROOT_INVALID', 'the root expiry is not a valid date');
  const signed: RootSigned = {
    type: 'root',
    spec_version: ROOT_SPEC_VERSION,
    version: options.version ?? 1,
    expires: expires.toISOString(),
    keys,
    roles: {
      root: {
        keyids: unique(options.root.keys.map((k) => k.keyId)),
        threshold: { ...options.root.threshold },
      },
      packages: { keyids: unique(packages.keys.map((k) => k.keyId)), threshold: { ...packages.threshold } },
    },
  };
  checkRootStructure(parseWith(RootSignedSchema, signed, 'trust root', 'FORGE_ROOT_INVALID'), registry);
  return signed;
}

/** Signs a root's `signed` part (adds to `existing` signatures, one per key). */
export function signRoot(
  signed: RootSigned,
  signers: readonly PrivateKey[],
  existing: readonly SignatureEntry[] = [],
): RootDocument {
  return { signed, signatures: mergeSignatures(existing, signDocument('root', signed, signers)) };
}

/** Validates a root document's layout and structure (not its signatures). Throws FORGE_ROOT_INVALID. */
export function parseRootDocument(
  json: unknown,
  registry: AlgorithmRegistry = defaultAlgorithms,
): RootDocument {
  const doc = parseWith(RootDocumentSchema, json, 'trust root', 'FORGE_ROOT_INVALID');
  checkRootStructure(doc.signed, registry);
  return doc;
}

export interface LoadTrustRootOptions {
  readonly clock?: Clock;
  readonly registry?: AlgorithmRegistry;
  /** Records the highest root (and revocation list) version seen, and refuses lower ones. */
  readonly store?: VersionStore;
  /** A revocation list to apply instead of the one embedded in the last root. */
  readonly revocations?: unknown;
}

/**
 * Verifies a root chain and returns the trust root to use. `chain[0]` is the root you trust
 * (pinned); each next root must be version N+1, signed by a threshold of root N's root role and
 * of its own. The last root must not be expired; with a store, it must not be older than the
 * newest root seen before (rollback).
 */
export async function loadTrustRoot(
  chain: readonly unknown[],
  options: LoadTrustRootOptions = {},
): Promise<TrustRoot> {
  const root = verifyRootChain(chain, options);
  if (options.store !== undefined) {
    await refuseOlder(options.store, 'root', root.version, 'FORGE_ROOT_ROLLBACK', 'trust root');
    await refuseOlder(
      options.store,
      'revocations',
      root.revocationVersion,
      'FORGE_REVOCATION_ROLLBACK',
      'revocation list',
    );
  }
  return root;
}

/** {@link loadTrustRoot} without the store: pure and synchronous. */
export function verifyRootChain(
  chain: readonly unknown[],
  options: Omit<LoadTrustRootOptions, 'store'> = {},
): TrustRoot {
  const registry = options.registry ?? defaultAlgorithms;
  const clock = options.clock ?? systemClock;
  if (chain.length === 0) throw new ForgeError('FORGE_ROOT_INVALID', 'no trust root given');
  if (chain.length > 1024)
    throw new ForgeError('FORGE_ROOT_INVALID', 'the root chain is longer than 1024 roots');
  let previous: { doc: RootDocument; keys: Map<string, PublicKey> } | undefined;
  for (const [index, json] of chain.entries()) {
    const doc = parseRootDocument(json, registry);
    const keys = keysOf(doc.signed, registry);
    const signed = (json as { signed: unknown }).signed;
    const message = documentMessage('root', signed);
    const sigs = toSignatureInputs(doc.signatures);
    const own = evaluateThreshold(doc.signed.roles.root, keys, sigs, message, registry, new Set());
    const prev =
      previous === undefined
        ? undefined
        : evaluateThreshold(
            previous.doc.signed.roles.root,
            previous.keys,
            sigs,
            message,
            registry,
            new Set(),
          );
    const label = `root v${doc.signed.version}`;
    if (previous !== undefined) {
      const expected = previous.doc.signed.version + 1;
      if (doc.signed.version < expected) {
        throw new ForgeError(
          'FORGE_ROOT_ROLLBACK',
          `${label} (chain position ${index}) is not newer than root v${previous.doc.signed.version}`,
        );
      }
      if (doc.signed.version !== expected) {
        throw new ForgeError(
          'FORGE_ROOT_CHAIN',
          `${label} follows root v${previous.doc.signed.version}; expected v${expected} (no gaps in a rotation chain)`,
        );
      }
    }
    doc.signatures.forEach((entry, i) => {
      const statuses: SignatureStatus[] = [
        own.statuses[i] ?? 'bad',
        ...(prev === undefined ? [] : [prev.statuses[i] ?? 'bad']),
      ];
      if (statuses.includes('counted')) return;
      // The pinned root of a chain may be a rotated one, still carrying its predecessor's
      // signatures; those keys are unknown here and simply cannot count.
      if (prev === undefined && statuses.every((s) => s === 'not-in-role')) return;
      const reason = statuses.includes('bad')
        ? 'does not verify'
        : statuses.includes('duplicate')
          ? 'is a duplicate'
          : 'comes from a key outside the root role';
      throw new ForgeError(
        'FORGE_ROOT_BAD_SIGNATURE',
        `${label}: the signature of key ${entry.keyid.slice(0, 16)}… ${reason}`,
        {
          details: { keyid: entry.keyid },
        },
      );
    });
    if (prev !== undefined && !prev.met) {
      throw new ForgeError(
        'FORGE_ROOT_THRESHOLD',
        `${label} is not signed by a threshold of root v${previous?.doc.signed.version} keys (${describeUnmet(prev.unmet)})`,
      );
    }
    if (!own.met) {
      throw new ForgeError(
        'FORGE_ROOT_THRESHOLD',
        `${label} is not signed by a threshold of its own root keys (${describeUnmet(own.unmet)})`,
      );
    }
    previous = { doc, keys };
  }
  if (previous === undefined) throw new ForgeError('FORGE_ROOT_INVALID', 'no trust root given');
  const { doc, keys } = previous;
  const expires = Date.parse(doc.signed.expires);
  if (expires <= clock.now()) {
    throw new ForgeError(
      'FORGE_ROOT_EXPIRED',
      `trust root v${doc.signed.version} expired at ${doc.signed.expires}; rotate to a newer root`,
      {
        details: { version: doc.signed.version, expires: doc.signed.expires },
      },
    );
  }
  const revocationJson =
    options.revocations ?? (chain[chain.length - 1] as { revocations?: unknown }).revocations;
  const revocations =
    revocationJson === undefined
      ? undefined
      : verifyRevocationList(revocationJson, { root: doc.signed.roles.root, keys, registry });
  return {
    version: doc.signed.version,
    expires,
    keys,
    roles: doc.signed.roles,
    revoked: new Set(revocations?.revoked ?? []),
    revocationVersion: revocations?.version ?? 0,
    registry,
    document: doc,
  };
}

/** The root document with a (new) revocation list embedded. */
export function withRevocations(root: RootDocument, revocations: RevocationDocument): RootDocument {
  return { ...root, revocations };
}

/** Refuses `version` when the store has seen a higher one for `key`, then records it. */
async function refuseOlder(
  store: VersionStore,
  key: string,
  version: number,
  code: ForgeErrorCode,
  what: string,
): Promise<void> {
  const seen = await readStoredVersion(store, TRUST_STATE_NAMESPACE, key);
  if (seen !== undefined && typeof seen.value === 'number' && seen.value > version) {
    throw new ForgeError(
      code,
      `${what} version ${version} is older than version ${seen.value} already trusted`,
      {
        details: { version, trusted: seen.value },
      },
    );
  }
  if (version === 0) return; // nothing to record (no revocation list)
  await raiseStoredVersion(
    store,
    TRUST_STATE_NAMESPACE,
    key,
    version,
    (v) => typeof v !== 'number' || v < version,
  );
}

function keysOf(signed: RootSigned, registry: AlgorithmRegistry): Map<string, PublicKey> {
  const keys = new Map<string, PublicKey>();
  for (const [id, tuf] of Object.entries(signed.keys)) {
    let key: PublicKey;
    try {
      key = publicKeyFromTuf(tuf, registry);
    } catch (error) {
      throw new ForgeError(
        'FORGE_ROOT_INVALID',
        `trust root key ${id.slice(0, 16)}… is unusable: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (key.keyId !== id)
      throw new ForgeError(
        'FORGE_ROOT_INVALID',
        `trust root key id ${id.slice(0, 16)}… does not match its key`,
      );
    keys.set(id, key);
  }
  return keys;
}

function checkRootStructure(signed: RootSigned, registry: AlgorithmRegistry): void {
  if (Object.keys(signed.keys).length > MAX_KEYS)
    throw new ForgeError('FORGE_ROOT_INVALID', `a trust root lists at most ${MAX_KEYS} keys`);
  if (Number.isNaN(Date.parse(signed.expires)))
    throw new ForgeError('FORGE_ROOT_INVALID', 'the root expiry is not a valid date');
  const keys = keysOf(signed, registry);
  for (const [name, role] of Object.entries(signed.roles)) {
    if (new Set(role.keyids).size !== role.keyids.length)
      throw new ForgeError('FORGE_ROOT_INVALID', `role ${name} lists a key twice`);
    const perAlgorithm = new Map<string, number>();
    for (const id of role.keyids) {
      const key = keys.get(id);
      if (key === undefined)
        throw new ForgeError(
          'FORGE_ROOT_INVALID',
          `role ${name} names key ${id.slice(0, 16)}…, which the root does not list`,
        );
      perAlgorithm.set(key.algorithm, (perAlgorithm.get(key.algorithm) ?? 0) + 1);
    }
    const thresholds = Object.entries(role.threshold);
    if (thresholds.length === 0) throw new ForgeError('FORGE_ROOT_INVALID', `role ${name} has no threshold`);
    for (const [algorithm, need] of thresholds) {
      if (!registry.has(algorithm))
        throw new ForgeError(
          'FORGE_ROOT_INVALID',
          `role ${name} has a threshold for unknown algorithm ${algorithm.slice(0, 64)}`,
        );
      const have = perAlgorithm.get(algorithm) ?? 0;
      if (have < need) {
        throw new ForgeError(
          'FORGE_ROOT_INVALID',
          `role ${name} needs ${need} ${algorithm} signature(s) but lists only ${have} ${algorithm} key(s)`,
        );
      }
    }
  }
}

function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}
