/**
 * Every limit a container runs under, named once: the kernel's configuration, execution's hosts,
 * core's per-run overrides and the CLI's flags all use these names and these defaults.
 */
export interface ContainerLimits {
  /** Wall-clock deadline of each guest call (its start function included), ms. */
  readonly timeoutMs: number;
  /** Largest linear memory, in 64 KiB pages, enforced even when the module declares no maximum. */
  readonly memoryPages: number;
  /** Largest accepted module (binary or text), bytes; checked before the module is read or parsed. */
  readonly maxModuleBytes: number;
  /** Most imports a module may declare. */
  readonly maxImports: number;
  /** Largest table, in elements, enforced like memory. */
  readonly maxTableElements: number;
  /** Syscalls per second before the guest is stopped; 0 turns the limit off. */
  readonly syscallsPerSecond: number;
  /** Fuel per call (deterministic metering; modules are instrumented when set); 0: off. */
  readonly fuel: number;
}

/** Overrides of some limits, by the names of ContainerLimits. */
export type ContainerLimitsInput = Partial<ContainerLimits> & {
  /** @deprecated The name before 0.2: use `memoryPages` (given both, `memoryPages` wins). */
  readonly maxMemoryPages?: number;
};

/** The limits of a container that sets none. */
export const defaultContainerLimits: ContainerLimits = Object.freeze({
  timeoutMs: 1000,
  memoryPages: 256,
  maxModuleBytes: 64 * 1024 * 1024,
  maxImports: 1024,
  maxTableElements: 65_536,
  syscallsPerSecond: 100_000,
  fuel: 0,
});

/** The limits a module is held to when it is compiled without a host (the format's own ceilings). */
export type ModuleLimits = Pick<
  ContainerLimits,
  'maxModuleBytes' | 'maxImports' | 'memoryPages' | 'maxTableElements'
>;

/** What `compileModule` applies when it is given no limits: 4 GiB of memory, a million table elements. */
export const defaultModuleLimits: ModuleLimits = Object.freeze({
  maxModuleBytes: defaultContainerLimits.maxModuleBytes,
  maxImports: defaultContainerLimits.maxImports,
  memoryPages: 65_536,
  maxTableElements: 1_000_000,
});

/** The values a configured or given limit may take (inclusive). */
export const limitBounds = Object.freeze({
  timeoutMs: Object.freeze({ min: 1, max: 3_600_000 }),
  memoryPages: Object.freeze({ min: 1, max: 65_536 }),
  maxModuleBytes: Object.freeze({ min: 8, max: 1024 * 1024 * 1024 }),
});

/**
 * `defaults` with the given overrides applied (an override left undefined keeps the default),
 * the deprecated `maxMemoryPages` read as `memoryPages`.
 */
export function resolveLimits<T extends Partial<ContainerLimits>>(
  defaults: T,
  given: ContainerLimitsInput | undefined,
): T {
  if (given === undefined) return { ...defaults };
  const { maxMemoryPages, ...named } = given;
  const resolved: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(named)) if (value !== undefined) resolved[key] = value;
  if (named.memoryPages === undefined && maxMemoryPages !== undefined) resolved.memoryPages = maxMemoryPages;
  return resolved as T;
}
