import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { algorithmNames, PrivateKey, writeKeyFiles, type PassphraseSource } from '@forgeone/crypto';
import { printResult, usageError, type CliIo } from '../cliIo';

/** The environment variable that holds the key passphrase. */
export const PASSPHRASE_ENV = 'FORGEONE_PASSPHRASE';

/** Commander collector for an option that may be given several times (`--key a --key b`). */
export const repeatable = (value: string, previous: string[]): string[] => [...previous, value];

/** A path from the command line, resolved against the CLI's working directory. */
export function cliPath(io: CliIo, path: string): string {
  return resolve(io.cwd, path);
}

/**
 * Where key passphrases come from: FORGEONE_PASSPHRASE, else a prompt when standard input is a
 * terminal, else none. The answer is asked once per command and reused.
 */
export function passphraseSource(io: CliIo, options: { confirm?: boolean } = {}): PassphraseSource {
  let cached: Promise<string | undefined> | undefined;
  return () => {
    cached ??= (async () => {
      const fromEnv = io.env(PASSPHRASE_ENV);
      if (fromEnv !== undefined) return fromEnv;
      if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
      const first = await promptHidden('Passphrase (empty: store unencrypted): ');
      if (options.confirm === true && first !== '' && (await promptHidden('Repeat passphrase: ')) !== first) {
        throw usageError('the passphrases do not match');
      }
      return first;
    })();
    return cached;
  };
}

/** Reads one line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolvePromise) => {
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolvePromise(answer);
    });
    muted = true;
  });
}

export function registerKeygen(program: Command, io: CliIo): void {
  program
    .command('keygen')
    .description('generate a key pair: <path>.key (private, mode 0600) and <path>.pub; prints the key id')
    .requiredOption('--alg <alg>', `signature algorithm: ${algorithmNames.join(', ')}`)
    .requiredOption('--out <path>', 'output path without extension')
    .option('--force', 'overwrite existing key files')
    .option('--json', 'print a JSON result')
    .action(async (options: { alg: string; out: string; force?: boolean }) => {
      if (!algorithmNames.includes(options.alg)) {
        throw usageError(`unknown --alg ${options.alg}; choose one of ${algorithmNames.join(', ')}`);
      }
      const passphrase = await passphraseSource(io, { confirm: true })();
      const key = PrivateKey.generate(options.alg);
      const written = await writeKeyFiles(cliPath(io, options.out), key, {
        passphrase,
        overwrite: options.force === true,
      });
      if (!written.encrypted) {
        io.err(
          `warning: ${PASSPHRASE_ENV} is not set: ${written.privatePath} holds the private key UNENCRYPTED (mode 0600)`,
        );
      }
      printResult(io, {
        message: `generated ${key.algorithm} key ${key.keyId}`,
        lines: [key.keyId],
        data: {
          keyId: key.keyId,
          algorithm: key.algorithm,
          privateKey: written.privatePath,
          publicKey: written.publicPath,
          encrypted: written.encrypted,
        },
      });
    });
}
