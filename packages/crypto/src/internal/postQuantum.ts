import { randomBytes } from 'node:crypto';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { slh_dsa_sha2_128f, slh_dsa_sha2_128s } from '@noble/post-quantum/slh-dsa.js';
import { ForgeError } from '@forgeone/common';
import type { KeyMaterial, SignOptions, SignatureAlgorithm, VerifyOptions } from '../signatureAlgorithm';
import { requireContext, requireLength, verifyInputsWellFormed } from './checks';

/** The part of a noble post-quantum signer this wrapper uses. */
interface NobleSigner {
  readonly lengths: { seed?: number; publicKey?: number; secretKey?: number; signature?: number };
  keygen(seed?: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array };
  sign(
    message: Uint8Array,
    secretKey: Uint8Array,
    opts?: { context?: Uint8Array; extraEntropy?: Uint8Array | false },
  ): Uint8Array;
  verify(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
    opts?: { context?: Uint8Array },
  ): boolean;
}

function length(value: number | undefined, what: string): number {
  if (value === undefined) throw new Error(`noble signer lacks ${what}`);
  return value;
}

function wrap(name: string, oid: string, signer: NobleSigner): SignatureAlgorithm {
  const sizes = {
    seed: length(signer.lengths.seed, 'seed'),
    publicKey: length(signer.lengths.publicKey, 'publicKey'),
    secretKey: length(signer.lengths.secretKey, 'secretKey'),
    signature: length(signer.lengths.signature, 'signature'),
  };
  return {
    name,
    postQuantum: true,
    oid,
    sizes,
    keygen(seed?: Uint8Array): KeyMaterial {
      if (seed !== undefined) requireLength(seed, sizes.seed, `a ${name} seed`);
      const actualSeed = seed === undefined ? new Uint8Array(randomBytes(sizes.seed)) : Uint8Array.from(seed);
      const { publicKey, secretKey } = signer.keygen(actualSeed);
      return { seed: actualSeed, publicKey, secretKey };
    },
    sign(secretKey: Uint8Array, message: Uint8Array, options: SignOptions = {}): Uint8Array {
      requireLength(secretKey, sizes.secretKey, `a ${name} secret key`);
      requireContext(options.context);
      try {
        return signer.sign(message, secretKey, {
          ...(options.context === undefined ? {} : { context: options.context }),
          ...(options.extraEntropy === undefined ? {} : { extraEntropy: options.extraEntropy }),
        });
      } catch (error) {
        throw new ForgeError(
          'FORGE_CRYPTO_BAD_INPUT',
          `${name} signing failed: ${(error as Error).message}`,
          { cause: error },
        );
      }
    },
    verify(
      publicKey: Uint8Array,
      message: Uint8Array,
      signature: Uint8Array,
      options: VerifyOptions = {},
    ): boolean {
      const context = options.context;
      if (!verifyInputsWellFormed(sizes, publicKey, message, signature, context, 255)) return false;
      try {
        return signer.verify(signature, message, publicKey, context === undefined ? {} : { context });
      } catch {
        return false;
      }
    },
  };
}

const NIST_SIG = '2.16.840.1.101.3.4.3';

/** ML-DSA-44 (FIPS 204), pure mode. */
export const mlDsa44 = wrap('ml-dsa-44', `${NIST_SIG}.17`, ml_dsa44);
/** ML-DSA-65 (FIPS 204), pure mode. */
export const mlDsa65 = wrap('ml-dsa-65', `${NIST_SIG}.18`, ml_dsa65);
/** ML-DSA-87 (FIPS 204), pure mode. */
export const mlDsa87 = wrap('ml-dsa-87', `${NIST_SIG}.19`, ml_dsa87);
/** SLH-DSA-SHA2-128s (FIPS 205): small signatures, very slow signing (seconds). */
export const slhDsaSha2_128s = wrap('slh-dsa-sha2-128s', `${NIST_SIG}.20`, slh_dsa_sha2_128s);
/** SLH-DSA-SHA2-128f (FIPS 205): fast signing, 17 KB signatures. */
export const slhDsaSha2_128f = wrap('slh-dsa-sha2-128f', `${NIST_SIG}.21`, slh_dsa_sha2_128f);
