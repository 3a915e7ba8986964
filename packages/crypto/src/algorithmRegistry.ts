import { ForgeError } from '@forgeone/common';
import type { SignatureAlgorithm } from './signatureAlgorithm';
import { ed25519 } from './internal/ed25519';
import { mlDsa44, mlDsa65, mlDsa87, slhDsaSha2_128f, slhDsaSha2_128s } from './internal/postQuantum';

/** Maps algorithm names to implementations. Immutable: `with` returns a new registry. */
export class AlgorithmRegistry {
  readonly #byName: ReadonlyMap<string, SignatureAlgorithm>;

  constructor(algorithms: Iterable<SignatureAlgorithm>) {
    const byName = new Map<string, SignatureAlgorithm>();
    for (const algorithm of algorithms) {
      if (byName.has(algorithm.name)) {
        throw new ForgeError('FORGE_INVALID_INPUT', `algorithm ${algorithm.name} is registered twice`);
      }
      byName.set(algorithm.name, algorithm);
    }
    this.#byName = byName;
  }

  /** The algorithm called `name`; throws FORGE_CRYPTO_UNKNOWN_ALGORITHM when there is none. */
  get(name: string): SignatureAlgorithm {
    const algorithm = this.#byName.get(name);
    if (algorithm === undefined) {
      throw new ForgeError(
        'FORGE_CRYPTO_UNKNOWN_ALGORITHM',
        `unknown signature algorithm "${name.slice(0, 64)}"; known: ${this.names().join(', ')}`,
        { details: { algorithm: name.slice(0, 64) } },
      );
    }
    return algorithm;
  }

  /** The algorithm called `name`, or undefined. */
  find(name: string): SignatureAlgorithm | undefined {
    return this.#byName.get(name);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** Registered names, in registration order. */
  names(): string[] {
    return [...this.#byName.keys()];
  }

  /** A new registry with `algorithm` added (or replacing the one of the same name). */
  with(algorithm: SignatureAlgorithm): AlgorithmRegistry {
    const all = new Map(this.#byName);
    all.set(algorithm.name, algorithm);
    return new AlgorithmRegistry(all.values());
  }
}

/** Ed25519, ML-DSA-44/65/87, SLH-DSA-SHA2-128f/128s. */
export const defaultAlgorithms = new AlgorithmRegistry([
  ed25519,
  mlDsa44,
  mlDsa65,
  mlDsa87,
  slhDsaSha2_128f,
  slhDsaSha2_128s,
]);

/** Algorithm names ForgeOne ships. */
export const algorithmNames = defaultAlgorithms.names();
