/** Byte sizes of an algorithm's keys and signatures. */
export interface AlgorithmSizes {
  /** The seed a private key is derived from (what ForgeOne stores as the private key). */
  readonly seed: number;
  readonly publicKey: number;
  /** The library's expanded signing key (for Ed25519 the seed itself). */
  readonly secretKey: number;
  readonly signature: number;
}

export interface SignOptions {
  /** FIPS 204/205 context string (at most 255 bytes); Ed25519 accepts only an empty one. */
  readonly context?: Uint8Array;
  /**
   * Extra randomness for hedged ML-DSA / SLH-DSA signing, or `false` for the deterministic variant
   * (what test vectors use). Default: fresh randomness. Ed25519 is always deterministic.
   */
  readonly extraEntropy?: Uint8Array | false;
}

export interface VerifyOptions {
  /** FIPS 204/205 context string the signature was made with. */
  readonly context?: Uint8Array;
}

/** A key pair derived from a seed. */
export interface KeyMaterial {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/**
 * One signature algorithm. `verify` never throws: a malformed key or signature, or options the
 * algorithm refuses, give `false`. `keygen` and `sign` throw ForgeError (FORGE_CRYPTO_BAD_KEY,
 * FORGE_CRYPTO_BAD_INPUT) on malformed input.
 */
export interface SignatureAlgorithm {
  /** Registry name, e.g. `ed25519`, `ml-dsa-65`, `slh-dsa-sha2-128f`. Also the TUF keytype/scheme. */
  readonly name: string;
  /** True for the post-quantum (FIPS 204/205) algorithms. */
  readonly postQuantum: boolean;
  readonly sizes: AlgorithmSizes;
  /** Dotted OID of the algorithm in SPKI / PKCS#8 (RFC 8410, RFC 9881, RFC 9909). */
  readonly oid: string;
  /** Derives a key pair from `seed`, or from fresh randomness when it is omitted. */
  keygen(seed?: Uint8Array): KeyMaterial;
  /** Signs `message` with an expanded `secretKey` from keygen. */
  sign(secretKey: Uint8Array, message: Uint8Array, options?: SignOptions): Uint8Array;
  /** True only when `signature` is a valid signature of `message` under `publicKey`. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, options?: VerifyOptions): boolean;
}
