import { watch, type FSWatcher } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { lstat, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ForgeError, isForgeError } from '@forgeone/common';
import type { LivePolicy, LivePolicyInput, LivePolicyMeta } from '@forgeone/trust';
import { DebouncedReload } from '@forgeone/config';

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
  readonly #debounced: DebouncedReload<PolicyReloadResult>;

  constructor(options: PolicyDirectoryWatcherOptions) {
    this.#options = options;
    this.#debounced = new DebouncedReload(() => this.reload(), options.onResult, options.debounceMs);
    this.#watcher = watch(options.dir, () => this.#debounced.trigger());
    this.#watcher.on('error', () => this.#debounced.trigger());
  }

  /** The live policy the directory feeds. */
  get policies(): LivePolicy {
    return this.#options.policies;
  }

  /** Reads the directory now and swaps its live file in, or says why not (`meta`: who caused it). */
  async reload(meta: LivePolicyMeta = {}): Promise<PolicyReloadResult> {
    const { dir, policies } = this.#options;
    try {
      const input = await readPolicyDirectory(dir);
      const before = policies.current;
      // The same document (by digest) as the version in force: nothing to swap.
      const next = policies.swap(input, {
        actor: meta.actor ?? 'policy-dir',
        reason: meta.reason ?? `reload of ${input.source}`,
      });
      return { applied: true, version: next.version, file: input.source, unchanged: next === before };
    } catch (error) {
      if (!isForgeError(error)) throw error;
      return { applied: false, code: error.code, message: error.message };
    }
  }

  close(): void {
    this.#debounced.close();
    this.#watcher.close();
  }
}

/** The files one new version of a policy directory was written as. */
export interface WrittenPolicyVersion {
  readonly version: number;
  readonly file: string;
  readonly tests: string | undefined;
}

/**
 * Writes a policy version as the directory's next one: `policy.<N>.yaml` (N one more than the
 * highest there), its test cases first as `policy.<N>.cases.yaml`, each written to a hidden
 * temporary file, synced and renamed into place, so that a watcher never reads half a file and
 * the version is on disk before it is reported. JSON text is YAML too.
 */
export async function writePolicyVersion(
  dir: string,
  version: { readonly document: string; readonly tests?: string | undefined },
): Promise<WrittenPolicyVersion> {
  const next = (await choosePolicyFile(dir)).version + 1;
  const file = join(dir, `policy.${next}.yaml`);
  const tests = version.tests === undefined ? undefined : join(dir, `policy.${next}.cases.yaml`);
  try {
    if (tests !== undefined && version.tests !== undefined) await writeAtomically(dir, tests, version.tests);
    await writeAtomically(dir, file, version.document);
  } catch (error) {
    await removeQuietly([file, ...(tests === undefined ? [] : [tests])]);
    throw new ForgeError(
      'FORGE_POLICY_DIR_INVALID',
      `cannot write policy version ${next} into ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { cause: error },
    );
  }
  return { version: next, file, tests };
}

/** Removes the files of a version that was written but refused (a best effort). */
export async function removePolicyVersion(written: WrittenPolicyVersion): Promise<void> {
  await removeQuietly([written.file, ...(written.tests === undefined ? [] : [written.tests])]);
}

async function writeAtomically(dir: string, target: string, text: string): Promise<void> {
  // `wx` on the target's name would race a rename; a file already there is refused instead.
  if (await exists(target)) throw Object.assign(new Error(`${target} exists`), { code: 'EEXIST' });
  const temporary = join(dir, `.forge-upload-${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch {
    return false;
  }
}

async function removeQuietly(files: readonly string[]): Promise<void> {
  for (const file of files) await rm(file, { force: true }).catch(() => undefined);
}
