import { z } from 'zod';
import { ForgeError, parseWith } from '@forgeone/common';
import type { AlgorithmRegistry } from './algorithmRegistry';
import type { PrivateKey, PublicKey } from './keys';
import { describeUnmet, evaluateThreshold, type RoleSpec } from './internal/signatureSet';
import {
  documentMessage,
  KeyIdSchema,
  mergeSignatures,
  signDocument,
  SignaturesSchema,
  toSignatureInputs,
  type SignatureEntry,
} from './internal/signedDocument';

export const RevocationSignedSchema = z.strictObject({
  type: z.literal('revocations'),
  version: z
    .number()
    .int()
    .min(1)
    .max(2 ** 31),
  issued: z.iso.datetime(),
  revoked: z.array(z.strictObject({ keyid: KeyIdSchema, reason: z.string().max(256).optional() })).max(4096),
});

export const RevocationDocumentSchema = z.strictObject({
  signed: RevocationSignedSchema,
  signatures: SignaturesSchema,
});

export type RevocationSigned = z.infer<typeof RevocationSignedSchema>;
export type RevocationDocument = z.infer<typeof RevocationDocumentSchema>;

/** The `signed` part of a revocation list. Versions must grow: clients refuse a lower one. */
export function createRevocationList(options: {
  readonly version: number;
  readonly revoked: ReadonlyArray<{ readonly keyid: string; readonly reason?: string | undefined }>;
  readonly issued?: Date;
}): RevocationSigned {
  const signed = {
    type: 'revocations' as const,
    version: options.version,
    issued: (options.issued ?? new Date()).toISOString(),
    revoked: options.revoked.map((r) =>
      r.reason === undefined ? { keyid: r.keyid } : { keyid: r.keyid, reason: r.reason },
    ),
  };
  return parseWith(RevocationSignedSchema, signed, 'revocation list', 'FORGE_REVOCATION_INVALID');
}

/** Signs a revocation list; it must be signed by a threshold of the root role. */
export function signRevocationList(
  signed: RevocationSigned,
  signers: readonly PrivateKey[],
  existing: readonly SignatureEntry[] = [],
): RevocationDocument {
  return { signed, signatures: mergeSignatures(existing, signDocument('revocations', signed, signers)) };
}

/**
 * Checks a revocation list against a root role: every signature valid and from a root key, and a
 * threshold met by keys the list does not itself revoke. Throws FORGE_REVOCATION_INVALID.
 */
export function verifyRevocationList(
  json: unknown,
  trust: {
    readonly root: RoleSpec;
    readonly keys: ReadonlyMap<string, PublicKey>;
    readonly registry: AlgorithmRegistry;
  },
): { version: number; revoked: string[] } {
  const doc = parseWith(RevocationDocumentSchema, json, 'revocation list', 'FORGE_REVOCATION_INVALID');
  const revoked = doc.signed.revoked.map((r) => r.keyid);
  const message = documentMessage('revocations', (json as { signed: unknown }).signed);
  const outcome = evaluateThreshold(
    trust.root,
    trust.keys,
    toSignatureInputs(doc.signatures),
    message,
    trust.registry,
    new Set(revoked),
  );
  outcome.statuses.forEach((status, i) => {
    if (status === 'counted' || status === 'revoked') return;
    throw new ForgeError(
      'FORGE_REVOCATION_INVALID',
      `revocation list signature ${i + 1} (key ${doc.signatures[i]?.keyid.slice(0, 16)}…) ${status === 'bad' ? 'does not verify' : status === 'duplicate' ? 'is a duplicate' : 'is not from a root key'}`,
    );
  });
  if (!outcome.met) {
    throw new ForgeError(
      'FORGE_REVOCATION_INVALID',
      `the revocation list is not signed by a threshold of the root role (${describeUnmet(outcome.unmet)})`,
    );
  }
  return { version: doc.signed.version, revoked };
}
