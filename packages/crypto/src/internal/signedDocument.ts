import { z } from 'zod';
import { canonicalJsonBytes } from '../canonicalJson';
import type { PrivateKey } from '../keys';
import { fromHex, toHex } from './bytes';
import { signingMessage, type SignatureInput } from './signatureSet';

export const KeyIdSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');
export const HexSchema = z
  .string()
  .max(200_000)
  .regex(/^(?:[0-9a-f]{2})*$/, 'must be lower-case hex');
export const SignatureEntrySchema = z.strictObject({ keyid: KeyIdSchema, sig: HexSchema });
export const SignaturesSchema = z.array(SignatureEntrySchema).max(64);

export interface SignatureEntry {
  readonly keyid: string;
  readonly sig: string;
}

/** The bytes a `{ signed, signatures }` document's signatures cover. */
export function documentMessage(kind: string, signed: unknown): Uint8Array {
  return signingMessage(kind, canonicalJsonBytes(signed));
}

/** Signs `signed` with each key, TUF style: `{ keyid, sig }` with hex signatures. */
export function signDocument(
  kind: string,
  signed: unknown,
  signers: readonly PrivateKey[],
): SignatureEntry[] {
  const message = documentMessage(kind, signed);
  return signers.map((key) => ({ keyid: key.keyId, sig: toHex(key.sign(message)) }));
}

/** Merges signatures, one per key id (new ones replace old ones of the same key). */
export function mergeSignatures(
  existing: readonly SignatureEntry[],
  added: readonly SignatureEntry[],
): SignatureEntry[] {
  const byKey = new Map(existing.map((s) => [s.keyid, s] as const));
  for (const sig of added) byKey.set(sig.keyid, sig);
  return [...byKey.values()];
}

export function toSignatureInputs(signatures: readonly SignatureEntry[]): SignatureInput[] {
  return signatures.map((s) => ({
    keyId: s.keyid,
    signature: fromHex(s.sig, 'signature', 'FORGE_INVALID_INPUT'),
  }));
}
