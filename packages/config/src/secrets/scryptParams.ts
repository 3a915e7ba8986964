import { ForgeError } from '@forgeone/common';

/** scrypt's cost parameters: N = 2^logN, block size r, parallelism p. */
export interface ScryptParams {
  readonly logN: number;
  readonly r: number;
  readonly p: number;
}

/** OWASP's recommendation for scrypt (N = 2^17, r = 8, p = 1): 128 MiB, under a second here. */
export const defaultScryptParams: ScryptParams = { logN: 17, r: 8, p: 1 };

/**
 * What a store may ask for. The parameters are stored next to the secrets, so they are input: an
 * edited store must not make an `open` allocate gigabytes or run for an hour.
 */
export const scryptBounds = {
  minLogN: 10,
  maxLogN: 20,
  maxR: 16,
  maxP: 4,
  /** 128 · N · r bytes of memory. */
  maxMemoryBytes: 256 * 1024 * 1024,
  /** N · r · p: 8 times the default's work. */
  maxWork: 2 ** 23,
} as const;

/** `params` when within scryptBounds, else FORGE_SECRET_KDF_REFUSED naming the bound. */
export function checkScryptParams(params: ScryptParams): ScryptParams {
  const { logN, r, p } = params;
  const whole = (n: number) => Number.isSafeInteger(n) && n >= 1;
  const problem =
    !whole(logN) || logN < scryptBounds.minLogN || logN > scryptBounds.maxLogN
      ? `logN must be ${scryptBounds.minLogN}..${scryptBounds.maxLogN}`
      : !whole(r) || r > scryptBounds.maxR
        ? `r must be 1..${scryptBounds.maxR}`
        : !whole(p) || p > scryptBounds.maxP
          ? `p must be 1..${scryptBounds.maxP}`
          : 128 * 2 ** logN * r > scryptBounds.maxMemoryBytes
            ? `128·N·r must be at most ${scryptBounds.maxMemoryBytes} bytes of memory`
            : 2 ** logN * r * p > scryptBounds.maxWork
              ? `N·r·p must be at most ${scryptBounds.maxWork}`
              : undefined;
  if (problem === undefined) return params;
  throw new ForgeError(
    'FORGE_SECRET_KDF_REFUSED',
    `scrypt logN=${String(logN)} r=${String(r)} p=${String(p)} refused: ${problem}`,
    { details: { logN: Number(logN), r: Number(r), p: Number(p) } },
  );
}
