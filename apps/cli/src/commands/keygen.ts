import type { Command } from 'commander';
import { algorithmNames, PrivateKey, writeKeyFiles } from '@forgeone/crypto';
import { printResult, usageError, type CliIo } from '../cliIo';
import { cliPath } from '../flagValues';
import { PASSPHRASE_ENV, passphraseSource } from '../passphrase';

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
