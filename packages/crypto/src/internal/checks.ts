import { ForgeError } from '@forgeone/common';

/** Throws FORGE_CRYPTO_BAD_KEY unless `bytes` has exactly `length` bytes. */
export function requireLength(bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    const got = bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes;
    throw new ForgeError('FORGE_CRYPTO_BAD_KEY', `${what} must be ${length} bytes, got ${got}`);
  }
}

/** FIPS 204/205 contexts are at most 255 bytes. */
export function requireContext(context: Uint8Array | undefined): void {
  if (context !== undefined && (!(context instanceof Uint8Array) || context.length > 255)) {
    throw new ForgeError('FORGE_CRYPTO_BAD_INPUT', 'the signing context must be at most 255 bytes');
  }
}

/**
 * True when verify's inputs have the shapes the algorithm takes: byte arrays of the right sizes and
 * a context of at most `maxContext` bytes. Verification of anything else is simply false.
 */
export function verifyInputsWellFormed(
  sizes: { readonly publicKey: number; readonly signature: number },
  publicKey: unknown,
  message: unknown,
  signature: unknown,
  context: unknown,
  maxContext: number,
): boolean {
  return (
    publicKey instanceof Uint8Array &&
    publicKey.length === sizes.publicKey &&
    signature instanceof Uint8Array &&
    signature.length === sizes.signature &&
    message instanceof Uint8Array &&
    (context === undefined || (context instanceof Uint8Array && context.length <= maxContext))
  );
}
