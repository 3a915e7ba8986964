import type { Command } from 'commander';
import { inspectPackage, readPackageFile } from '@forgeone/crypto';
import { printResult, type CliIo } from '../cliIo';
import { cliPath } from './keygen';

export function registerInspect(program: Command, io: CliIo): void {
  program
    .command('inspect <file>')
    .description(
      'show the structure of a ForgePkg: manifest, entries, signatures (does not check trust; see verify)',
    )
    .option('--json', 'print a JSON result')
    .action(async (file: string) => {
      const summary = inspectPackage(await readPackageFile(cliPath(io, file)));
      const manifest = summary.manifest as { name?: unknown; version?: unknown };
      const lines = [
        `ForgePkg v${summary.formatVersion}, ${summary.totalBytes} bytes, digest ${summary.digest}`,
        `package: ${printable(String(manifest.name))}@${printable(String(manifest.version))}`,
        `manifest: ${JSON.stringify(summary.manifest)}`,
        `entries (${summary.entries.length}):`,
        ...summary.entries.map((e) => `  ${printable(e.name)}  ${e.size} bytes`),
        `signatures (${summary.signatures.length}):`,
        ...summary.signatures.map((s) => `  ${s.algorithm}  ${s.keyId}  ${s.bytes} bytes`),
      ];
      printResult(io, {
        message: `${String(manifest.name)}@${String(manifest.version)}`,
        lines,
        data: { ...summary },
      });
    });
}

/** Escapes control characters so a hostile entry name cannot drive the terminal. */
function printable(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
