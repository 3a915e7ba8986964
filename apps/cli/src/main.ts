import type { CliIo } from './cliIo';

const argv = process.argv.slice(2);
const io: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  json: argv.includes('--json'),
  env: (name) => process.env[name],
  cwd: process.cwd(),
};

// Last line of defence: whatever escapes becomes one coded line, never a stack trace.
const crash = (error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`FORGE_INTERNAL: ${message.split('\n')[0]}\n`);
  process.exit(70);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

// Loaded dynamically so that even a broken installation (a missing package) fails with one line.
import('./cli').then(
  ({ runCli }) =>
    runCli(argv, io).then((code) => {
      process.exitCode = code;
    }, crash),
  (error: unknown) =>
    crash(new Error(`the forgeone installation is incomplete: ${(error as Error).message}`)),
);
