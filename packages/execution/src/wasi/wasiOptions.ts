import { ForgeError, type Clock } from '@forgeone/common';
import { defaultContainerLimits } from '@forgeone/config';
import type { VirtualFileSystem } from './vfs/virtualFileSystem';

/** Where the guest's stdout or stderr goes: kept in memory, and passed live to `sink`. */
export interface WasiOutputOptions {
  /** Called with a copy of each chunk as the guest writes it. */
  readonly sink?: (bytes: Uint8Array) => void;
  /** Bytes accepted in total; a write past it is cut short and then fails with EFBIG. Default 16 MiB. */
  readonly maxBytes?: number;
}

/** A directory the guest sees at `guestPath` (`/`, `/data`...). */
export type WasiPreopen =
  | {
      readonly guestPath: string;
      readonly kind: 'host';
      /** Host directory exposed; nothing outside it is reachable. */
      readonly hostPath: string;
      readonly readOnly?: boolean;
    }
  | {
      readonly guestPath: string;
      readonly kind: 'memory';
      /** Initial files by relative path. */
      readonly files?: Readonly<Record<string, string | Uint8Array>>;
      readonly readOnly?: boolean;
    }
  | {
      readonly guestPath: string;
      /** A file system the caller built (shared between runs, or a custom backend). */
      readonly kind: 'fs';
      readonly fileSystem: VirtualFileSystem;
    };

/** Bounds on what one guest can make the host do. */
export interface WasiLimits {
  /** Open descriptors, stdio and preopens included (EMFILE past it); a host routes its `maxOpenFds` here. */
  readonly maxOpenFds: number;
  /** Size a file may reach through writes, truncation or allocation (EFBIG past it). */
  readonly maxFileSize: number;
  /** Bytes of file contents one in-memory preopen may hold (ENOSPC past it). */
  readonly maxMemoryFsBytes: number;
  /** Files, directories and symlinks one in-memory preopen may hold (ENOSPC past it). */
  readonly maxMemoryFsNodes: number;
  /** Longest path or symlink target, in UTF-8 bytes (ENAMETOOLONG past it). */
  readonly maxPathBytes: number;
  /** Symlinks followed in one path walk (ELOOP past it). */
  readonly maxSymlinkHops: number;
  /** iovecs in one read or write (EINVAL past it). */
  readonly maxIovecs: number;
  /** Bytes moved by one read or write call; larger requests complete short, as POSIX allows. */
  readonly maxIoBytes: number;
  /** Subscriptions in one poll_oneoff (EINVAL past it). */
  readonly maxPollSubscriptions: number;
  /** Longest a single poll_oneoff may sleep, in milliseconds; longer waits are cut to it. */
  readonly maxSleepMs: number;
  /** Entries listed from one directory. */
  readonly maxDirEntries: number;
}

/** Everything a WASI preview1 guest gets to see of the world. */
export interface WasiOptions {
  /** argv, program name first. */
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly preopens?: readonly WasiPreopen[];
  readonly stdin?: Uint8Array | string;
  readonly stdout?: WasiOutputOptions;
  readonly stderr?: WasiOutputOptions;
  /** Wall and monotonic time; inject a ManualClock for deterministic runs. */
  readonly clock?: Clock;
  /** Blocks the calling thread for `ms` (poll_oneoff timeouts). Default: Atomics.wait. */
  readonly sleep?: (ms: number) => void;
  /** Fills `target` with random bytes (random_get). Default: crypto.getRandomValues. */
  readonly random?: (target: Uint8Array) => void;
  readonly limits?: Partial<WasiLimits>;
}

/** The limits used when none are given. */
export const defaultWasiLimits: WasiLimits = {
  // A container limit: config names it and owns its default (`ContainerLimits.maxOpenFds`).
  maxOpenFds: defaultContainerLimits.maxOpenFds,
  maxFileSize: 1024 * 1024 * 1024,
  maxMemoryFsBytes: 64 * 1024 * 1024,
  maxMemoryFsNodes: 65_536,
  maxPathBytes: 4096,
  maxSymlinkHops: 32,
  maxIovecs: 1024,
  maxIoBytes: 16 * 1024 * 1024,
  maxPollSubscriptions: 4096,
  maxSleepMs: 10_000,
  maxDirEntries: 65_536,
};

export const DEFAULT_OUTPUT_MAX_BYTES = 16 * 1024 * 1024;
/** args plus env, in bytes: keeps every size the guest is told far inside u32. */
const MAX_ARGS_ENV_BYTES = 1024 * 1024;

function invalid(field: string, problem: string): never {
  throw new ForgeError('FORGE_WASI_CONFIG_INVALID', `invalid WASI options at ${field}: ${problem}`, {
    details: { field },
  });
}

/** Checks options from the caller once, at the edge, and fills in default limits. */
export function checkWasiOptions(options: WasiOptions): WasiLimits {
  let bytes = 0;
  (options.args ?? []).forEach((arg, index) => {
    if (typeof arg !== 'string') invalid(`args.${index}`, 'expected a string');
    if (arg.includes('\0')) invalid(`args.${index}`, 'contains a NUL byte');
    bytes += Buffer.byteLength(arg) + 1;
  });
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (key === '' || key.includes('=') || key.includes('\0'))
      invalid(`env.${key}`, 'a name must be non-empty without = or NUL');
    if (typeof value !== 'string' || value.includes('\0'))
      invalid(`env.${key}`, 'expected a string without NUL');
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value) + 2;
  }
  if (bytes > MAX_ARGS_ENV_BYTES)
    invalid('args', `args and env take ${bytes} bytes; at most ${MAX_ARGS_ENV_BYTES}`);
  const seen = new Set<string>();
  (options.preopens ?? []).forEach((preopen, index) => {
    const { guestPath } = preopen;
    if (typeof guestPath !== 'string' || guestPath === '' || guestPath.includes('\0')) {
      invalid(`preopens.${index}.guestPath`, 'expected a non-empty path without NUL');
    }
    if (seen.has(guestPath)) invalid(`preopens.${index}.guestPath`, `${guestPath} is preopened twice`);
    seen.add(guestPath);
    if (preopen.kind === 'host' && (typeof preopen.hostPath !== 'string' || preopen.hostPath === '')) {
      invalid(`preopens.${index}.hostPath`, 'expected a host directory path');
    }
    if (!['host', 'memory', 'fs'].includes(preopen.kind))
      invalid(`preopens.${index}.kind`, 'expected host, memory or fs');
  });
  for (const field of ['stdout', 'stderr'] as const) {
    const max = options[field]?.maxBytes;
    if (max !== undefined && !(Number.isSafeInteger(max) && max >= 0))
      invalid(`${field}.maxBytes`, 'expected an integer >= 0');
  }
  // The defaults are known to be valid: only limits the caller gave are checked.
  const limits =
    options.limits === undefined ? defaultWasiLimits : { ...defaultWasiLimits, ...options.limits };
  if (options.limits !== undefined) {
    for (const [key, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value < 0) invalid(`limits.${key}`, 'expected an integer >= 0');
    }
  }
  if (limits.maxOpenFds < 3 + seen.size)
    invalid('limits.maxOpenFds', 'must leave room for stdio and every preopen');
  return limits;
}
