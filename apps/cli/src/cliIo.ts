import { ForgeError, toForgeError, type ForgeErrorCode, type JsonValue } from '@forgeone/common';
import { terminalSafe } from './terminalText';

export { terminalSafe };

/**
 * Where a command writes. Commands never touch process.stdout or process.exit directly, so the
 * whole CLI runs in-process in tests and every failure goes through one formatter.
 */
export interface CliIo {
  /** One line of normal output (standard output). */
  out(line: string): void;
  /** One line of diagnostics or warnings (standard error). */
  err(line: string): void;
  /** True when the user asked for machine-readable output (`--json`). */
  readonly json: boolean;
  /** Reads an environment variable (injectable for tests). */
  env(name: string): string | undefined;
  /** The directory relative paths resolve against. */
  readonly cwd: string;
  /**
   * Present when the CLI runs as a process: registers how a command ends early when SIGINT or
   * SIGTERM asks the process to stop. See InterruptHandler.
   */
  onInterrupt?(handler: InterruptHandler): void;
  /** Whether standard output / standard error is a terminal (default: neither). */
  readonly terminal?: { readonly out: boolean; readonly err: boolean };
}

/** The signals that end a command early, and the exit code each gives (128 + its number). */
export const interruptSignals = { SIGINT: 130, SIGTERM: 143 } as const;
export type InterruptSignal = keyof typeof interruptSignals;

/**
 * How a command ends when the process is asked to stop: `stop` ends its work (the command then
 * returns as usual, closing what it opened), and once it has returned the CLI prints one line,
 * `FORGE_INTERRUPTED: interrupted by SIGINT; <summary>`, and exits with 130 (SIGTERM: 143).
 */
export interface InterruptHandler {
  stop(signal: InterruptSignal): Promise<void> | void;
  /** What was kept, for the interrupted line (e.g. the kv namespaces and their writes). */
  summary(): string | undefined;
}

/** The io a command gets: every line escaped on its way out, and the unescaped io underneath. */
class EscapingIo implements CliIo {
  constructor(readonly raw: CliIo) {}
  out(line: string): void {
    this.raw.out(terminalSafe(line));
  }
  err(line: string): void {
    this.raw.err(terminalSafe(line));
  }
  get json(): boolean {
    return this.raw.json;
  }
  env(name: string): string | undefined {
    return this.raw.env(name);
  }
  get cwd(): string {
    return this.raw.cwd;
  }
  get terminal(): { readonly out: boolean; readonly err: boolean } {
    return this.raw.terminal ?? { out: false, err: false };
  }
  onInterrupt(handler: InterruptHandler): void {
    this.raw.onInterrupt?.(handler);
  }
}

/**
 * Wraps the process's io so that every line any command prints goes through terminalSafe: the
 * escaping lives in the printing functions, where no command can forget it. JSON output stays
 * valid JSON with the same values (see terminalSafe).
 */
export function escapingIo(io: CliIo): CliIo {
  return io instanceof EscapingIo ? io : new EscapingIo(io);
}

/**
 * One line of the guest's own stdout or stderr, passed through. The guest is untrusted, so on a
 * terminal it is escaped like everything else; into a pipe or a file it is the guest's output
 * stream and is written as the guest wrote it (a consumer of `forgeone run x.wasm > out.txt` gets
 * the guest's text, escapes included).
 */
export function printGuestLine(io: CliIo, stream: 'out' | 'err', line: string): void {
  const raw = io instanceof EscapingIo ? io.raw : io;
  raw[stream](raw.terminal?.[stream] === true ? terminalSafe(line) : line);
}

/** The JSON document every `--json` command prints: `{ ok, code, message, ... }`. */
export function printJson(
  io: CliIo,
  body: { ok: boolean; code: string; message: string } & Record<string, unknown>,
) {
  io.out(JSON.stringify(body, jsonReplacer));
}

/** Prints a success: the JSON document with --json, otherwise the given text lines. */
export function printResult(
  io: CliIo,
  result: {
    code?: string;
    message: string;
    lines?: readonly string[];
    data?: Record<string, JsonValue | unknown>;
  },
): void {
  if (io.json) {
    printJson(io, { ok: true, code: result.code ?? 'OK', message: result.message, ...(result.data ?? {}) });
    return;
  }
  for (const line of result.lines ?? [result.message]) io.out(line);
}

/** Prints a failure in the one-line `CODE: message` form (or as JSON), and returns the exit code. */
export function printFailure(io: CliIo, error: unknown, exitCode = 1): number {
  const forgeError = toForgeError(error);
  if (io.json) {
    printJson(io, {
      ok: false,
      code: forgeError.code,
      message: forgeError.message,
      details: forgeError.details,
    });
  } else {
    io.err(forgeError.toLine());
  }
  return exitCode;
}

/** A usage error: bad flag value, missing argument. Exit code 2. */
export function usageError(message: string): ForgeError {
  return new ForgeError('FORGE_CLI_USAGE', message);
}

/** Thrown by a command to end with a given exit code after it printed its own output. */
export class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    readonly code: ForgeErrorCode | 'OK' = 'OK',
  ) {
    super(`exit ${exitCode}`);
    this.name = 'CliExit';
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
