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
  /**
   * Sustained syscalls per second before the guest is stopped (FORGE_LIMIT_SYSCALL_RATE); 0 turns
   * the limit off. The default (2,000,000/s) was measured, not guessed: see the README of
   * @forgeone/config, "How the default syscall rate was chosen".
   */
  readonly syscallsPerSecond: number;
  /**
   * Calls one window of the rate limit allows: the guest is stopped when it makes more than
   * `syscallBurst` calls within `syscallBurst / syscallsPerSecond` seconds. 0: as many as
   * `syscallsPerSecond` (a one-second window). A burst needs a rate (it is refused without one).
   */
  readonly syscallBurst: number;
  /** Open WASI descriptors, stdio and preopens included (EMFILE past it). */
  readonly maxOpenFds: number;
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
  syscallsPerSecond: 2_000_000,
  syscallBurst: 0,
  maxOpenFds: 1024,
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

/** The values a configured or given limit may take (inclusive), for every limit. */
export const limitBounds: {
  readonly [K in keyof ContainerLimits]: { readonly min: number; readonly max: number };
} = Object.freeze({
  timeoutMs: Object.freeze({ min: 1, max: 3_600_000 }),
  memoryPages: Object.freeze({ min: 1, max: 65_536 }),
  maxModuleBytes: Object.freeze({ min: 8, max: 1024 * 1024 * 1024 }),
  maxImports: Object.freeze({ min: 0, max: 100_000 }),
  maxTableElements: Object.freeze({ min: 0, max: 10_000_000 }),
  syscallsPerSecond: Object.freeze({ min: 0, max: 1_000_000_000 }),
  syscallBurst: Object.freeze({ min: 0, max: 1_000_000_000 }),
  // stdio (3) and at least one preopen.
  maxOpenFds: Object.freeze({ min: 4, max: 1_048_576 }),
  fuel: Object.freeze({ min: 0, max: Number.MAX_SAFE_INTEGER }),
});

/** The names of every container limit, in the order the docs list them. */
export const containerLimitNames = Object.freeze(
  Object.keys(defaultContainerLimits) as (keyof ContainerLimits)[],
);

/**
 * Why `limits` cannot be honoured, or undefined: each given value an integer within its bounds,
 * and a burst only with a rate (a burst without a rate would be silently ignored). Returns the
 * name of the offending limit and the problem, for the caller's own error code and wording.
 */
export function limitsProblem(
  limits: Partial<ContainerLimits>,
): { readonly limit: keyof ContainerLimits; readonly problem: string } | undefined {
  for (const limit of containerLimitNames) {
    const value = limits[limit];
    if (value === undefined) continue;
    const { min, max } = limitBounds[limit];
    if (!Number.isSafeInteger(value) || value < min || value > max)
      return { limit, problem: `expected an integer from ${min} to ${max}, got ${String(value)}` };
  }
  if ((limits.syscallBurst ?? 0) > 0 && limits.syscallsPerSecond === 0)
    return { limit: 'syscallBurst', problem: 'a burst needs a syscall rate (syscallsPerSecond is 0: off)' };
  return undefined;
}

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
