import type { Command } from 'commander';
import {
  inspectPackage,
  readPackageFile,
  readPrivateKeyFile,
  signPackage,
  writePackageFile,
  type PrivateKey,
} from '@forgeone/crypto';
import { printResult, usageError, type CliIo } from '../cliIo';
import { cliPath, repeatable } from '../flagValues';
import { passphraseSource } from '../passphrase';

export function registerSign(program: Command, io: CliIo): void {
  program
    .command('sign <file>')
    .description('add a signature per --key to a ForgePkg (in place)')
    .option('--key <file.key>', 'private key file; repeat for hybrid signing', repeatable, [])
    .option('--json', 'print a JSON result')
    .action(async (file: string, options: { key: string[] }) => {
      if (options.key.length === 0) throw usageError('give at least one --key <file.key>');
      const path = cliPath(io, file);
      const bytes = await readPackageFile(path);
      const passphrase = passphraseSource(io);
      const keys: PrivateKey[] = [];
      for (const keyFile of options.key)
        keys.push(await readPrivateKeyFile(cliPath(io, keyFile), { passphrase }));
      const signed = signPackage(bytes, keys);
      await writePackageFile(path, signed);
      const signatures = inspectPackage(signed).signatures;
      printResult(io, {
        message: `signed ${path} with ${keys.map((k) => `${k.algorithm} ${k.keyId.slice(0, 16)}`).join(', ')}; it now carries ${signatures.length} signature(s)`,
        data: { path, added: keys.map((k) => ({ keyId: k.keyId, algorithm: k.algorithm })), signatures },
      });
    });
}
