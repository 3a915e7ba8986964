import type { CliIo } from './cliIo';
import { terminalSafe } from './terminalText';

const argv = process.argv.slice(2);
const io: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  json: argv.includes('--json'),
  env: (name) => process.env[name],
  cwd: process.cwd(),
  terminal: { out: process.stdout.isTTY === true, err: process.stderr.isTTY === true },
};

// Last line of defence: whatever escapes becomes one coded line, never a stack trace.
const crash = (error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`FORGE_INTERNAL: ${terminalSafe(message.split('\n')[0] ?? '')}\n`);
  process.exit(70);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

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
  ({ runCli }) =>
    runCli(argv, io).then((code) => {
      process.exitCode = code;
    }, crash),
  (error: unknown) =>
    crash(new Error(`the forgeone installation is incomplete: ${(error as Error).message}`)),
);
