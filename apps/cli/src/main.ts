import { interruptSignals, type CliIo, type InterruptHandler, type InterruptSignal } from './cliIo';
import { terminalSafe } from './terminalText';

const argv = process.argv.slice(2);
const handlers: InterruptHandler[] = [];
/** Set by the first SIGINT or SIGTERM: from then on the command's own output is dropped. */
let interrupted: InterruptSignal | undefined;
const io: CliIo = {
  out: (line) => {
    if (interrupted === undefined) process.stdout.write(`${line}\n`);
  },
  err: (line) => {
    if (interrupted === undefined) process.stderr.write(`${line}\n`);
  },
  json: argv.includes('--json'),
  env: (name) => process.env[name],
  cwd: process.cwd(),
  terminal: { out: process.stdout.isTTY === true, err: process.stderr.isTTY === true },
  onInterrupt: (handler) => {
    handlers.push(handler);
  },
};

/** Writes the last line and exits once it is written (an exit right after a write may cut it off). */
const finish = (line: string, code: number) => {
  process.stderr.write(`${line}\n`, () => process.exit(code));
};

// Last line of defence: whatever escapes becomes one coded line, never a stack trace.
const crash = (error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`FORGE_INTERNAL: ${terminalSafe(message.split('\n')[0] ?? '')}\n`);
  process.exit(70);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

let command: Promise<unknown> = Promise.resolve();

/**
 * SIGINT / SIGTERM: the command stops its work and closes what it opened (a run ends its guest,
 * keeps its kv writes, closes the store), then one line says so. A second signal exits at once.
 */
const onSignal = (signal: InterruptSignal) => {
  const code = interruptSignals[signal];
  if (interrupted !== undefined) {
    finish(`FORGE_INTERRUPTED: ${signal} again; exited without waiting for the command to close`, code);
    return;
  }
  interrupted = signal;
  void (async () => {
    await Promise.allSettled(handlers.map(async (handler) => handler.stop(signal)));
    await command.catch(() => undefined);
    const kept = handlers.map((handler) => handler.summary()).filter((text) => text !== undefined);
    finish(`FORGE_INTERRUPTED: interrupted by ${signal}${kept.map((text) => `; ${text}`).join('')}`, code);
  })();
};
for (const signal of Object.keys(interruptSignals) as InterruptSignal[]) process.on(signal, onSignal);

// A reader that went away (`forgeone inspect p.forgepkg | head -1`) ends the command quietly, as a
// Unix tool killed by SIGPIPE does (exit 128 + 13); there is no one left to tell, so nothing is
// written. Node ignores SIGPIPE and reports the closed pipe as an EPIPE error on the stream.
const EXIT_SIGPIPE = 141;
const onStreamError = (error: NodeJS.ErrnoException) =>
  error.code === 'EPIPE' ? process.exit(EXIT_SIGPIPE) : crash(error);
process.stdout.on('error', onStreamError);
process.stderr.on('error', onStreamError);

// Loaded dynamically so that even a broken installation (a missing package) fails with one line.
import('./cli').then(
  ({ runCli }) => {
    command = runCli(argv, io).then(async (code) => {
      // A signal that came while the guest held this thread (inline) is handled first: one turn of
      // the event loop lets it in, and it then decides the exit.
      await new Promise((resolve) => setImmediate(resolve));
      if (interrupted === undefined) process.exitCode = code;
    }, crash);
  },
  (error: unknown) =>
    crash(new Error(`the forgeone installation is incomplete: ${(error as Error).message}`)),
);
