import { createHash } from 'node:crypto';
import {
  compileModule,
  type CompiledModule,
  type ModuleFormat,
  type ModuleLimits,
} from '@forgeone/execution';

/**
 * Compiled modules by the SHA-256 of their source, least recently used evicted first. Compiling is
 * the expensive step of a launch; a cached module instantiates in microseconds.
 */
export class ModuleCache {
  readonly #entries = new Map<string, Promise<CompiledModule>>();

  constructor(readonly capacity = 64) {}

  /** The compiled module for `source`, compiling it on first use. */
  get(
    source: Uint8Array,
    name: string,
    limits?: Partial<ModuleLimits>,
    format?: ModuleFormat,
  ): Promise<CompiledModule> {
    const key = createHash('sha256').update(source).digest('hex');
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const compiling = compileModule(source, {
      name,
      ...(limits ? { limits } : {}),
      ...(format ? { format } : {}),
    });
    this.#entries.set(key, compiling);
    // A failed compile is not cached: the error must come back for every attempt, and cost nothing later.
    compiling.catch(() => this.#entries.delete(key));
    while (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    return compiling;
  }

  get size(): number {
    return this.#entries.size;
  }
}
