import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { isForgeError, type ForgeErrorCode } from '@forgeone/common';
import type { ChangeMeta } from '../changePolicy';
import type { ConfigContext } from '../configContext';
import { formatConfigProblem, resolveConfig } from '../effectiveConfig';
import type { ChangePolicyRule } from '../declarativePolicy';
import { DebouncedReload } from './debouncedReload';

/** What one reload did: the new version and the changed paths, or why the file was refused. */
export type ReloadResult =
  | { readonly applied: true; readonly version: number; readonly changed: readonly string[] }
  | { readonly applied: false; readonly code: ForgeErrorCode; readonly message: string };

export interface ConfigWatcherOptions<T extends Record<string, unknown>> {
  readonly file: string;
  readonly context: ConfigContext<T>;
  /** The rules the context was opened with: the file's `changePolicies` may not change under it. */
  readonly rules?: readonly ChangePolicyRule[];
  /** Environment and flags, layered over the file at each reload as at start. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly sets?: readonly string[];
  /** Quiet time after the last write before the file is read again. Default 100 ms. */
  readonly debounceMs?: number;
  /** Who the reloads are made by. Default the actor `file-watcher` with the role `system`. */
  readonly meta?: ChangeMeta;
  /** Told of every reload. */
  readonly onResult: (result: ReloadResult) => void;
}

/**
 * Watches a configuration file and applies each valid version with `replace` (all or nothing);
 * an invalid one is refused as a whole and the running configuration stays. Bursts of writes are
 * debounced; the directory is watched, so a file replaced by rename, deleted or swapped for a
 * directory or a symlink is noticed (and refused with its code). Reloads never overlap.
 */
export class ConfigWatcher<T extends Record<string, unknown>> {
  readonly #options: ConfigWatcherOptions<T>;
  readonly #watcher: FSWatcher;
  readonly #debounced: DebouncedReload<ReloadResult>;

  constructor(options: ConfigWatcherOptions<T>) {
    this.#options = options;
    this.#debounced = new DebouncedReload(
      () => this.reload(),
      (result) => options.onResult(result),
      options.debounceMs,
    );
    const name = basename(options.file);
    this.#watcher = watch(dirname(options.file), (_event, changed) => {
      if (changed === null || changed.toString() === name) this.#debounced.trigger();
    });
    this.#watcher.on('error', () => this.#debounced.trigger());
  }

  /** Reads the file now and applies or refuses it. */
  async reload(): Promise<ReloadResult> {
    const { file, context, env, sets } = this.#options;
    const meta = this.#options.meta ?? {
      actor: { id: 'file-watcher', roles: ['system'] },
      reason: `reload of ${file}`,
    };
    let result: ReloadResult;
    try {
      const resolved = await resolveConfig({
        schema: context.schema,
        file,
        ...(env ? { env } : {}),
        ...(sets ? { sets } : {}),
      });
      const first = resolved.problems[0];
      if (!resolved.ok || resolved.config === undefined) {
        result = {
          applied: false,
          code: first?.code ?? 'FORGE_CONFIG_INVALID',
          message: first ? formatConfigProblem(first) : 'invalid',
        };
      } else if (JSON.stringify(resolved.rules) !== JSON.stringify(this.#options.rules ?? [])) {
        result = {
          applied: false,
          code: 'FORGE_CONFIG_POLICY_INVALID',
          message: `${file}: changePolicies changed; they are read at start, restart to change them`,
        };
      } else {
        const done = await context.replace(resolved.config, meta);
        result = { applied: true, version: done.version, changed: done.changes.map((c) => c.path) };
      }
    } catch (error) {
      if (!isForgeError(error)) throw error;
      result = { applied: false, code: error.code, message: error.message };
    }
    return result;
  }

  /** Stops watching; a reload under way finishes. */
  close(): void {
    this.#debounced.close();
    this.#watcher.close();
  }

  /** Resolves when no reload is running or scheduled (for tests and shutdown). */
  idle(): Promise<void> {
    return this.#debounced.idle();
  }
}
