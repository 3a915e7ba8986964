import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ForgeError, isForgeError } from '@forgeone/common';
import type { LivePolicy, LivePolicyInput } from '@forgeone/trust';

/** A policy file's name: `policy.yaml`, or `policy.<N>.yaml` / `policy-<N>.json` (N its version). */
const POLICY_FILE = /^policy(?:[.-](\d{1,9}))?\.(ya?ml|json)$/;
/** The largest policy (or test cases) file read; a policy document is at most 256 KiB of text. */
const MAX_FILE_BYTES = 256 * 1024;

/** The live file of a directory, with its test cases (when there is a `.cases` file next to it). */
export interface PolicyDirectoryChoice {
  readonly file: string;
  readonly version: number;
  readonly tests: string | undefined;
}

/**
 * The rule for which file of a policy directory is live: among the regular files named
 * `policy.yaml` (version 0) or `policy.<N>.yaml` / `policy-<N>.yaml` (`.yml` and `.json` too),
 * the highest N. So a new version is a new file, and deleting it rolls back to the one before.
 * Two files of the same N are ambiguous (FORGE_POLICY_DIR_INVALID), as is a directory with none.
 * Test cases for `policy.3.yaml` are `policy.3.cases.yaml` (any of the three extensions): when
 * present, every case must pass before the version goes live.
 */
export async function choosePolicyFile(dir: string): Promise<PolicyDirectoryChoice> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new ForgeError(
      'FORGE_POLICY_DIR_INVALID',
      `cannot read the policy directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { cause: error },
    );
  }
  let best: { name: string; version: number } | undefined;
  let tie: string | undefined;
  for (const name of names) {
    const match = POLICY_FILE.exec(name);
    if (!match) continue;
    const version = match[1] === undefined ? 0 : Number(match[1]);
    if (best === undefined || version > best.version) {
      best = { name, version };
      tie = undefined;
    } else if (version === best.version) tie = name;
  }
  if (best === undefined)
    throw new ForgeError(
      'FORGE_POLICY_DIR_INVALID',
      `the policy directory ${dir} has no policy file: name it policy.yaml, or policy.<N>.yaml (the highest N is live)`,
    );
  if (tie !== undefined)
    throw new ForgeError(
      'FORGE_POLICY_DIR_INVALID',
      `${dir}: ${best.name} and ${tie} are both version ${best.version}; keep one`,
    );
  const stem = best.name.replace(/\.(ya?ml|json)$/, '');
  const tests = names.find((n) =>
    new RegExp(`^${stem.replace(/\./g, '\\.')}\\.cases\\.(ya?ml|json)$`).test(n),
  );
  return { file: join(dir, best.name), version: best.version, tests: tests && join(dir, tests) };
}

/** A policy directory's live version, read (bounded, no symlinks) as a LivePolicy input. */
export async function readPolicyDirectory(dir: string): Promise<LivePolicyInput & { source: string }> {
  const choice = await choosePolicyFile(dir);
  const document = await readBounded(choice.file);
  const tests = choice.tests === undefined ? undefined : await readBounded(choice.tests);
  return {
    document,
    source: choice.file,
    ...(tests === undefined || choice.tests === undefined ? {} : { tests, testsSource: choice.tests }),
  };
}

async function readBounded(file: string): Promise<string> {
  let info;
  try {
    info = await lstat(file);
  } catch (error) {
    throw new ForgeError(
      'FORGE_POLICY_NOT_FOUND',
      `${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      {
        cause: error,
      },
    );
  }
  if (info.isSymbolicLink() || !info.isFile())
    throw new ForgeError(
      'FORGE_POLICY_DIR_INVALID',
      `${file}: not a regular file (a symbolic link or a directory is refused)`,
    );
  if (info.size > MAX_FILE_BYTES)
    throw new ForgeError(
      'FORGE_POLICY_TOO_LARGE',
      `${file}: ${info.size} bytes; the limit is ${MAX_FILE_BYTES}`,
    );
  return readFile(file, 'utf8');
}

/** What one reload of the directory did. */
export type PolicyReloadResult =
  | { readonly applied: true; readonly version: number; readonly file: string; readonly unchanged: boolean }
  | { readonly applied: false; readonly code: string; readonly message: string };

export interface PolicyDirectoryWatcherOptions {
  readonly dir: string;
  readonly policies: LivePolicy;
  /** Quiet time after the last change before the directory is read again. Default 100 ms. */
  readonly debounceMs?: number;
  readonly onResult: (result: PolicyReloadResult) => void;
}

/**
 * Watches a policy directory: after a burst of writes settles, reads the live file and swaps it in
 * (compiled, its test cases run first; a refusal leaves the version in force). A file whose
 * document is the version in force makes no new version. Reloads never overlap.
 */
export class PolicyDirectoryWatcher {
  readonly #options: PolicyDirectoryWatcherOptions;
  readonly #watcher: FSWatcher;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(options: PolicyDirectoryWatcherOptions) {
    this.#options = options;
    this.#watcher = watch(options.dir, () => this.#schedule());
    this.#watcher.on('error', () => this.#schedule());
  }

  /** Reads the directory now and swaps its live file in, or says why not. */
  async reload(): Promise<PolicyReloadResult> {
    const { dir, policies } = this.#options;
    try {
      const input = await readPolicyDirectory(dir);
      const before = policies.current;
      // The same document (by digest) as the version in force: nothing to swap.
      const next = policies.swap(input, { actor: 'policy-dir', reason: `reload of ${input.source}` });
      return { applied: true, version: next.version, file: input.source, unchanged: next === before };
    } catch (error) {
      if (!isForgeError(error)) throw error;
      return { applied: false, code: error.code, message: error.message };
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#watcher.close();
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, this.#options.debounceMs ?? 100);
  }

  #run(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.reload()
      .then(
        (result) => this.#options.onResult(result),
        (error: unknown) =>
          this.#options.onResult({
            applied: false,
            code: 'FORGE_INTERNAL',
            message: error instanceof Error ? error.message : String(error),
          }),
      )
      .finally(() => {
        this.#running = undefined;
        if (this.#again && !this.#closed) {
          this.#again = false;
          this.#run();
        }
      });
  }
}
