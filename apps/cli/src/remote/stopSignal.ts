import type { CliIo } from '../cliIo';

/** A follow loop's end: set by SIGINT/SIGTERM (io.onInterrupt), with a sleep that it cuts short. */
export interface StopSignal {
  readonly signal: AbortSignal;
  /** Waits `ms`, or less when the command is stopped. */
  sleep(ms: number): Promise<void>;
}

/** Registers with the CLI's interrupt handling; `summary` says what the command did, for the last line. */
export function followUntilInterrupted(io: CliIo, summary: () => string | undefined): StopSignal {
  const abort = new AbortController();
  io.onInterrupt?.({ stop: () => abort.abort(), summary });
  return {
    signal: abort.signal,
    sleep: (ms) =>
      new Promise<void>((done) => {
        if (abort.signal.aborted) return done();
        const timer = setTimeout(done, ms);
        abort.signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            done();
          },
          { once: true },
        );
      }),
  };
}
