import type { Command } from 'commander';
import { packDirectory, sha256Hex, writePackageFile } from '@forgeone/crypto';
import { printResult, type CliIo } from '../cliIo';
import { cliPath } from '../flagValues';

export function registerPack(program: Command, io: CliIo): void {
  program
    .command('pack <dir>')
    .description('build an unsigned ForgePkg from <dir> (forgepkg.json without hashes, plus the files)')
    .requiredOption('--out <file.forgepkg>', 'where to write the package')
    .option('--json', 'print a JSON result')
    .action(async (dir: string, options: { out: string }) => {
      const { bytes, manifest } = await packDirectory(cliPath(io, dir));
      const out = cliPath(io, options.out);
      await writePackageFile(out, bytes);
      const entries = Object.keys(manifest.content_hashes).length;
      printResult(io, {
        message: `packed ${manifest.name}@${manifest.version} (${entries} entries, ${bytes.length} bytes) into ${out}; sign it with forgeone sign`,
        data: {
          path: out,
          name: manifest.name,
          version: manifest.version,
          entries,
          bytes: bytes.length,
          sha256: sha256Hex(bytes),
        },
      });
    });
}
