import { spawn } from 'node:child_process';

/** What a child printed before it was stopped, and how it ended. */
export interface StoppedRun {
  /** Every complete stdout line the child printed, acknowledgements and others, in order. */
  readonly lines: readonly string[];
  /** The lines `isAck` took as acknowledgements, in order (all of them were printed before it died). */
  readonly acked: readonly string[];
  readonly stderr: string;
  /** The exit code when the child exited on its own after the signal (SIGINT, SIGTERM). */
  readonly code: number | null;
  /** The signal that ended it (SIGKILL). */
  readonly signal: NodeJS.Signals | null;
}

export interface StopOptions {
  /** Arguments of `node`: a script (the built CLI, a fixture) and its arguments. */
  readonly args: readonly string[];
  readonly cwd?: string;
  /** Which stdout lines acknowledge a write. Default: every line. */
  readonly isAck?: (line: string) => boolean;
  /** How many acknowledgements to wait for before sending `signal`. */
  readonly after: number;
  /** Default SIGKILL. With SIGINT or SIGTERM the child is left to exit by itself. */
  readonly signal?: 'SIGKILL' | 'SIGINT' | 'SIGTERM';
  /**
   * A guard against a hang, not a measurement: when the child neither reaches `after` nor exits
   * within this many ms it is killed and the run fails. Default 60 s.
   */
  readonly giveUpMs?: number;
}

/**
 * The one kill harness of the durability tests (the store's, kv's, the audit log's): starts
 * `node <args>`, waits until it has printed `after` acknowledgement lines, sends `signal` while
 * it keeps writing (so it dies somewhere mid-write), and resolves once its output is drained,
 * with every acknowledgement it printed. A child that exits before it is signalled fails the run.
 */
export function runUntilStopped(options: StopOptions): Promise<StoppedRun> {
  const signal = options.signal ?? 'SIGKILL';
  const isAck = options.isAck ?? (() => true);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...options.args], {
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const acked: string[] = [];
    let pending = '';
    let stderr = '';
    let signalled = false;
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `the child did not reach ${options.after} acknowledgements (${acked.length}) or exit in time: ${stderr}`,
        ),
      );
    }, options.giveUpMs ?? 60_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const split = (pending + chunk).split('\n');
      pending = split.pop() ?? '';
      for (const line of split) {
        lines.push(line);
        if (isAck(line)) acked.push(line);
      }
      // The child keeps writing while the signal is on its way.
      if (!signalled && acked.length >= options.after) signalled = child.kill(signal);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => {
      clearTimeout(guard);
      reject(error);
    });
    // 'close' comes after stdout is drained: every acknowledgement written before the end is in.
    child.on('close', (code, endSignal) => {
      clearTimeout(guard);
      if (!signalled) {
        reject(
          new Error(
            `the child exited on its own (code ${code}, ${acked.length} acknowledgements) before ${signal}: ${stderr}`,
          ),
        );
      } else resolve({ lines, acked, stderr, code, signal: endSignal });
    });
  });
}
