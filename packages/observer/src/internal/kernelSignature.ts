import { defaultAlgorithms, type AlgorithmRegistry, type PrivateKey, type PublicKey } from '@forgeone/crypto';

/** A signature by a kernel key, as trace files and snapshots carry it. */
export interface KernelSignature {
  readonly algorithm: string;
  /** Key id (`keyId(algorithm, publicKey)` of @forgeone/crypto) of the key that signed. */
  readonly keyId: string;
  /** The signature, base64. */
  readonly signature: string;
}

/** Signs `message` (a domain-separated statement: a trace head, a snapshot id) with a kernel key. */
export function signWithKernelKey(message: Uint8Array, key: PrivateKey): KernelSignature {
  return {
    algorithm: key.algorithm,
    keyId: key.keyId,
    signature: Buffer.from(key.sign(message)).toString('base64'),
  };
}

/** Whether `signature` is a valid signature of `message` by `key` (its algorithm and key id included). */
export function verifyKernelSignature(
  message: Uint8Array,
  signature: KernelSignature,
  key: PublicKey,
  registry: AlgorithmRegistry = defaultAlgorithms,
): boolean {
  if (signature.algorithm !== key.algorithm || signature.keyId !== key.keyId) return false;
  const algorithm = registry.find(key.algorithm);
  if (algorithm === undefined) return false;
  return algorithm.verify(key.bytes, message, Buffer.from(signature.signature, 'base64'));
}
