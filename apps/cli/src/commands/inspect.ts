import type { Command } from 'commander';
import { inspectPackage, readPackageFile } from '@forgeone/crypto';
import { printResult, type CliIo } from '../cliIo';
import { cliPath } from '../flagValues';

export function registerInspect(program: Command, io: CliIo): void {
  program
    .command('inspect <file>')
    .description(
      'show the structure of a ForgePkg: manifest, entries, signatures (does not check trust; see verify)',
    )
    .option('--json', 'print a JSON result')
    // Names and entries are printed as the package has them: the CLI's io escapes terminal controls.
    .action(async (file: string) => {
      const summary = inspectPackage(await readPackageFile(cliPath(io, file)));
      const { manifest } = summary;
      const lines = [
        `ForgePkg v${summary.formatVersion}, ${summary.totalBytes} bytes, digest ${summary.digest}`,
        `package: ${manifest.name}@${manifest.version}`,
        `manifest: ${JSON.stringify(summary.manifest)}`,
        `entries (${summary.entries.length}):`,
        ...summary.entries.map((e) => `  ${e.name}  ${e.size} bytes`),
        `signatures (${summary.signatures.length}):`,
        ...summary.signatures.map((s) => `  ${s.algorithm}  ${s.keyId}  ${s.bytes} bytes`),
      ];
      printResult(io, {
        message: `${manifest.name}@${manifest.version}`,
        lines,
        data: { ...summary },
      });
    });
}
