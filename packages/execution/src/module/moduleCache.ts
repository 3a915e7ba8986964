import { createHash } from 'node:crypto';
import { compileModule, type CompileModuleOptions, type CompiledModule } from './moduleSource';

/**
 * Compiled modules by the SHA-256 of their source (and the options that change the compiled code:
 * limits, namespaces, fuel, deadline metering, snapshots), least recently used evicted first. Compiling is the expensive step of
 * a launch; a cached module instantiates in microseconds. Failures are not cached.
 */
export class ModuleCache {
  readonly #entries = new Map<string, Promise<CompiledModule>>();

  constructor(readonly capacity = 64) {}

  /** The compiled module for `source`, compiling it on first use. */
  get(source: Uint8Array, options: CompileModuleOptions = {}): Promise<CompiledModule> {
    const key = createHash('sha256')
      .update(source)
      .update(
        JSON.stringify([
          options.format,
          options.limits ?? {},
          options.namespaces ?? null,
          options.fuel === true,
          options.deadlineMetering !== false,
          options.snapshots ?? null,
        ]),
      )
      .digest('hex');
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const compiling = compileModule(source, options);
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
