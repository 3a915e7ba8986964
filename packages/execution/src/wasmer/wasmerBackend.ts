import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ForgeError, parseWith } from '@forgeone/common';
import type { Output, Sandbox, Wasmer } from '@wasmer/sdk/node';
import type { RunOutcome } from '../isolation/invokeExport';
import { isCanonicalGuestPath } from '../plugins/capability';
import {
  MountBudget,
  copyIntoSandbox,
  defaultWasmerMountLimits,
  readHostTree,
  writeBackFromSandbox,
  type WasmerMount,
  type WasmerMountLimits,
  type WasmerWriteBack,
} from './wasmerMounts';

/** What to run on the wasmer backend. */
export interface WasmerCommandOptions {
  /** A WASI/WASIX module exporting `_start` (binary). */
  readonly module: Uint8Array;
  /** Arguments after the program name (the guest sees `main` as argv[0]). */
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly mounts?: readonly WasmerMount[];
  readonly stdin?: Uint8Array | string;
  /** Wall-clock limit for the whole run, ms. Default 30,000. */
  readonly timeoutMs?: number;
  /** Bytes of stdout and of stderr kept (the rest is cut). Default 16 MiB. */
  readonly maxOutputBytes?: number;
  readonly mountLimits?: Partial<WasmerMountLimits>;
}

/** How a wasmer run ended: the V8 backend's RunOutcome, plus captured stdio. */
export interface WasmerRunResult {
  readonly backend: 'wasmer';
  readonly moduleSha256: string;
  /** `exited` (with the exit code) or `trapped` (FORGE_LIMIT_TIMEOUT, FORGE_WASM_TRAP). */
  readonly outcome: RunOutcome;
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
  /** True when the guest wrote more than maxOutputBytes to that stream. */
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
  /** What each read-write mount wrote back, by guest path. */
  readonly writeBack: Readonly<Record<string, WasmerWriteBack>>;
}

const WORKSPACE = '/workspace';
/** Extra time the SDK gets to report its own timeout before we stop waiting for it. */
const TIMEOUT_GRACE_MS = 10_000;

const NoNul = z.string().refine((s) => !s.includes('\0'), 'must not contain NUL');
const OptionsSchema = z.strictObject({
  module: z.instanceof(Uint8Array),
  args: z.array(NoNul).max(4096).default([]),
  env: z
    .record(z.string().regex(/^[^=\0]+$/, 'an environment name must be non-empty, without = or NUL'), NoNul)
    .default({}),
  mounts: z
    .array(
      z.strictObject({
        hostDir: z.string().min(1),
        guestPath: z
          .string()
          .refine(
            (p) => p !== '/' && isCanonicalGuestPath(p, /^[^/\0]{1,255}$/),
            'must be an absolute guest path other than /, without ., .. or a trailing /',
          ),
        readOnly: z.boolean().default(false),
      }),
    )
    .max(64)
    .default([]),
  stdin: z.union([z.instanceof(Uint8Array), z.string()]).optional(),
  timeoutMs: z.number().int().min(1).max(86_400_000).default(30_000),
  maxOutputBytes: z
    .number()
    .int()
    .min(0)
    .max(1024 * 1024 * 1024)
    .default(16 * 1024 * 1024),
  mountLimits: z
    .strictObject({
      maxFiles: z.number().int().min(0).optional(),
      maxBytes: z.number().int().min(0).optional(),
    })
    .default({}),
});
type Options = z.output<typeof OptionsSchema>;

/** Closes a sandbox, giving up after a few seconds: a stuck guest must not hang the host. */
async function closeWithin(sandbox: Sandbox | undefined, ms = 5_000): Promise<void> {
  if (sandbox === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    sandbox.close().catch(() => undefined),
    new Promise<void>((settle) => {
      timer = setTimeout(settle, ms);
    }),
  ]);
  clearTimeout(timer);
}

const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

function configError(message: string, field: string): ForgeError {
  return new ForgeError('FORGE_WASMER_CONFIG_INVALID', message, { details: { field } });
}

/** Checks mounts: where they may go, no overlaps, host directories that exist. */
async function checkMounts(mounts: Options['mounts']): Promise<WasmerMount[]> {
  const checked: WasmerMount[] = [];
  for (const [index, mount] of mounts.entries()) {
    const field = `mounts.${index}`;
    if (!mount.readOnly && !under(mount.guestPath, WORKSPACE)) {
      throw configError(
        `${field}: a read-write mount must lie at or below ${WORKSPACE} (wasmer keeps writable files only there); got ${mount.guestPath}`,
        `${field}.guestPath`,
      );
    }
    if (mount.readOnly && under(mount.guestPath, WORKSPACE)) {
      throw configError(
        `${field}: a read-only mount must lie outside ${WORKSPACE}; got ${mount.guestPath}`,
        `${field}.guestPath`,
      );
    }
    const clash = checked.find(
      (m) => under(m.guestPath, mount.guestPath) || under(mount.guestPath, m.guestPath),
    );
    if (clash)
      throw configError(`${field}: ${mount.guestPath} overlaps ${clash.guestPath}`, `${field}.guestPath`);
    const hostDir = resolve(mount.hostDir);
    const info = await stat(hostDir).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw configError(
        `${field}: host directory ${hostDir} does not exist or is not a directory`,
        `${field}.hostDir`,
      );
    }
    checked.push({ hostDir, guestPath: mount.guestPath, readOnly: mount.readOnly });
  }
  return checked;
}

function trapped(
  code: 'FORGE_LIMIT_TIMEOUT' | 'FORGE_WASM_TRAP',
  message: string,
  extra: Record<string, number> = {},
): RunOutcome {
  return {
    status: 'trapped',
    exitCode: null,
    error: new ForgeError(code, message, { details: { backend: 'wasmer', ...extra } }),
  };
}

function outcomeOf(output: Output, timeoutMs: number): RunOutcome {
  switch (output.reason) {
    case 'exited':
      return { status: 'exited', exitCode: output.exitCode };
    case 'timeout':
      return trapped(
        'FORGE_LIMIT_TIMEOUT',
        `the guest ran past its ${timeoutMs} ms timeout and was stopped`,
        {
          timeoutMs,
        },
      );
    default:
      return trapped('FORGE_WASM_TRAP', `the guest was terminated (status ${output.exitCode})`);
  }
}

/** A guest trap surfaces as an SDK error; its first line is the trap. */
function isGuestTrap(error: unknown): error is Error & { code: string } {
  return (
    error instanceof Error &&
    (error as { code?: unknown }).code === 'EXECUTION_ERROR' &&
    /RuntimeError/.test(error.message)
  );
}

/**
 * The wasmer backend: runs WASI/WASIX commands (`_start`) through `@wasmer/sdk` with coarse policy
 * only: the args, env, stdin and mounts given, networking disabled, no package registry, and a
 * wall-clock timeout. It does NOT pass the guest's calls through the SyscallGate: no per-call
 * policy, trace, replay or DNA. One backend keeps one wasmer client (its start costs ~0.5 s);
 * close it when done.
 */
export class WasmerBackend {
  #client: Promise<Wasmer> | undefined;

  async #wasmer(): Promise<Wasmer> {
    this.#client ??= import('@wasmer/sdk/node').then(async ({ Wasmer }) => {
      const client = new Wasmer({ cache: false });
      await client.ready();
      return client;
    });
    try {
      return await this.#client;
    } catch (error) {
      this.#client = undefined;
      throw new ForgeError(
        'FORGE_WASMER_FAILED',
        `the wasmer runtime did not start: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Runs one command in a fresh sandbox and reports it in the V8 backend's result shape. */
  async run(input: WasmerCommandOptions): Promise<WasmerRunResult> {
    const options = parseWith(OptionsSchema, input, 'wasmer options', 'FORGE_WASMER_CONFIG_INVALID');
    const { module } = options;
    if (!WebAssembly.validate(new Uint8Array(module))) {
      throw new ForgeError('FORGE_WASM_INVALID', 'the module is not valid WebAssembly');
    }
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(new Uint8Array(module)));
    if (!exports.some((e) => e.name === '_start' && e.kind === 'function')) {
      throw new ForgeError('FORGE_WASM_EXPORT_MISSING', 'a wasmer command must export a function _start', {
        details: { export: '_start' },
      });
    }
    const mounts = await checkMounts(options.mounts);
    const mountLimits = { ...defaultWasmerMountLimits, ...options.mountLimits } as WasmerMountLimits;
    const copyIn = new MountBudget(mountLimits, 'copy-in');
    const files: Record<string, Uint8Array> = {};
    for (const mount of mounts.filter((m) => m.readOnly)) {
      for (const file of await readHostTree(mount.hostDir, copyIn)) {
        files[`${mount.guestPath}/${file.relative}`] = file.bytes;
      }
    }

    const wasmer = await this.#wasmer();
    let sandbox: Sandbox | undefined;
    try {
      const pkg = await wasmer.packages.create({
        modules: { main: module },
        commands: { main: { module: 'main' } },
        files,
      });
      sandbox = await wasmer.sandboxes.create({
        packages: [pkg],
        env: options.env,
        network: { mode: 'disabled' },
      });
      const copied = new Map<string, ReadonlyMap<string, string>>();
      for (const mount of mounts.filter((m) => !m.readOnly)) {
        copied.set(mount.guestPath, await copyIntoSandbox(sandbox, mount, copyIn));
      }
      const outcome = await this.#runCommand(sandbox, pkg, options);
      const writeBack: Record<string, WasmerWriteBack> = {};
      const copyOut = new MountBudget(mountLimits, 'write-back');
      for (const mount of mounts.filter((m) => !m.readOnly)) {
        writeBack[mount.guestPath] = await writeBackFromSandbox(
          sandbox,
          mount,
          copied.get(mount.guestPath) ?? new Map(),
          copyOut,
        );
      }
      return {
        backend: 'wasmer',
        moduleSha256: createHash('sha256').update(module).digest('hex'),
        ...outcome,
        writeBack,
      };
    } catch (error) {
      if (error instanceof ForgeError) throw error;
      throw new ForgeError(
        'FORGE_WASMER_FAILED',
        `wasmer could not run the command: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    } finally {
      await closeWithin(sandbox);
    }
  }

  async #runCommand(
    sandbox: Sandbox,
    pkg: Parameters<Sandbox['command']>[0],
    options: Options,
  ): Promise<Omit<WasmerRunResult, 'backend' | 'moduleSha256' | 'writeBack'>> {
    const { timeoutMs } = options;
    const run = sandbox.command(pkg, [...options.args]).run({
      check: false,
      timeoutMs,
      outputBytes: options.maxOutputBytes,
      ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
    });
    let timer: NodeJS.Timeout | undefined;
    // If the SDK fails to stop the guest on its own, stop waiting and report the timeout.
    const guard = new Promise<'stuck'>((settle) => {
      timer = setTimeout(() => settle('stuck'), timeoutMs + TIMEOUT_GRACE_MS);
    });
    const empty = new Uint8Array(0);
    try {
      const output = await Promise.race([run, guard]);
      if (output === 'stuck') {
        return {
          outcome: trapped(
            'FORGE_LIMIT_TIMEOUT',
            `the guest ran past its ${timeoutMs} ms timeout and was stopped`,
            {
              timeoutMs,
            },
          ),
          stdout: empty,
          stderr: empty,
          stdoutTruncated: false,
          stderrTruncated: false,
        };
      }
      return {
        outcome: outcomeOf(output, timeoutMs),
        stdout: output.stdout.bytes,
        stderr: output.stderr.bytes,
        stdoutTruncated: output.stdout.truncated,
        stderrTruncated: output.stderr.truncated,
      };
    } catch (error) {
      if (!isGuestTrap(error)) throw error;
      const first = error.message.split('\n').find((line) => /RuntimeError/.test(line)) ?? 'RuntimeError';
      return {
        outcome: trapped('FORGE_WASM_TRAP', `guest trapped: ${first.replace(/^.*RuntimeError:\s*/, '')}`),
        stdout: empty,
        stderr: empty,
        stdoutTruncated: false,
        stderrTruncated: false,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Releases the wasmer client and its workers. The backend can be used again afterwards. */
  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    await (await client.catch(() => undefined))?.close();
  }
}

/**
 * Runs one WASI/WASIX command on the wasmer backend. Without `backend`, a client is started for
 * this run and closed after it (~0.5 s more); pass a WasmerBackend to reuse one across runs.
 */
export async function runWasmerCommand(
  options: WasmerCommandOptions,
  backend?: WasmerBackend,
): Promise<WasmerRunResult> {
  if (backend !== undefined) return backend.run(options);
  const own = new WasmerBackend();
  try {
    return await own.run(options);
  } finally {
    await own.close();
  }
}
