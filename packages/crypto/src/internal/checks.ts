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
