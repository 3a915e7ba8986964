import type { ForgeErrorCode } from '@forgeone/common';

/** What any reload reports when it failed: never applied, with a code. */
export interface RefusedReload {
  readonly applied: false;
  readonly code: ForgeErrorCode;
  readonly message: string;
}

/**
 * Runs `reload` after a burst of triggers settles (`debounceMs` of quiet), never two at once: a
 * trigger during a reload runs one more after it. A reload that throws is reported as refused
 * (`FORGE_INTERNAL`), so a watcher never dies of one. Shared by the config file watcher and the
 * daemon's policy directory watcher.
 */
export class DebouncedReload<R> {
  readonly #reload: () => Promise<R>;
  readonly #onResult: (result: R | RefusedReload) => void;
  readonly #debounceMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(reload: () => Promise<R>, onResult: (result: R | RefusedReload) => void, debounceMs = 100) {
    this.#reload = reload;
    this.#onResult = onResult;
    this.#debounceMs = debounceMs;
  }

  /** A change was seen: (re)starts the quiet period. */
  trigger(): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, this.#debounceMs);
  }

  /** Resolves when no reload is running or scheduled (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#running || this.#timer)
      await (this.#running ?? new Promise((resolve) => setTimeout(resolve, 10)));
  }

  /** No more reloads are scheduled; one under way finishes. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  #run(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#reload()
      .then(
        (result) => this.#onResult(result),
        (error: unknown) =>
          this.#onResult({
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
