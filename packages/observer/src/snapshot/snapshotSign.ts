import { ForgeError } from '@forgeone/common';
import { defaultAlgorithms, type AlgorithmRegistry, type PrivateKey, type PublicKey } from '@forgeone/crypto';
import { signWithKernelKey, verifyKernelSignature } from '../internal/kernelSignature';
import type { SnapshotSignature } from './snapshotContext';

/** Marks the end of a signed snapshot: `<signature JSON><its length, u32 LE>FSIG`. */
export const SIGNATURE_TRAILER_MAGIC = Uint8Array.from([0x46, 0x53, 0x49, 0x47]);
/** The most bytes a signature's JSON may take. */
export const MAX_SIGNATURE_BYTES = 8192;

/** What a kernel key signs for a snapshot: its id, under a domain string of its own. */
export function snapshotSignatureMessage(id: string): Uint8Array {
  return new TextEncoder().encode(`forgeone-snapshot-signature:v1:${id}`);
}

/** Signs a snapshot's id with a kernel key. */
export function signSnapshotId(id: string, key: PrivateKey): SnapshotSignature {
  return signWithKernelKey(snapshotSignatureMessage(id), key);
}

/** Whether `signature` is a valid signature by `key` over the snapshot whose id is `id`. */
export function verifySnapshotSignature(
  id: string,
  signature: SnapshotSignature,
  key: PublicKey,
  registry: AlgorithmRegistry = defaultAlgorithms,
): boolean {
  return verifyKernelSignature(snapshotSignatureMessage(id), signature, key, registry);
}

/** The bytes a signature adds at the end of a snapshot file. */
export function signatureTrailer(signature: SnapshotSignature): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(signature));
  if (json.byteLength > MAX_SIGNATURE_BYTES)
    throw new ForgeError('FORGE_SNAPSHOT_INVALID', 'the signature is too long to store');
  const out = new Uint8Array(json.byteLength + 8);
  out.set(json, 0);
  new DataView(out.buffer).setUint32(json.byteLength, json.byteLength, true);
  out.set(SIGNATURE_TRAILER_MAGIC, json.byteLength + 4);
  return out;
}
