import type { Command } from 'commander';
import { ForgeError, SqliteStore } from '@forgeone/common';
import {
  loadTrustRoot,
  readPackageFile,
  readRootFile,
  recordInstalled,
  verifyPackage,
  type ValidationResult,
} from '@forgeone/crypto';
import { CliExit, printJson, usageError, type CliIo } from '../cliIo';
import { STATE_ENV, cliPath, repeatable } from '../flagValues';

/** Environment variable naming the state database (installed versions, trusted root version). */

export function registerVerify(program: Command, io: CliIo): void {
  program
    .command('verify <file>')
    .description('verify a ForgePkg against a trust root; exits 0 only when the package is valid')
    .option(
      '--root <root.json>',
      'trusted root; repeat to walk a rotation chain (oldest first)',
      repeatable,
      [],
    )
    .option('--revocations <file.json>', 'a revocation list to apply instead of the one in the last root')
    .option(
      '--state <file.sqlite>',
      `state database for rollback and dependency checks (default: $${STATE_ENV})`,
    )
    .option('--install', 'after a successful verification, record the package as installed in --state')
    .option('--json', 'print a JSON result with every check')
    .action(
      async (
        file: string,
        options: { root: string[]; revocations?: string; state?: string; install?: boolean },
      ) => {
        if (options.root.length === 0) throw usageError('give --root <root.json>');
        const statePath = options.state ?? (io.env(STATE_ENV) || undefined);
        if (options.install === true && statePath === undefined)
          throw usageError(`--install needs --state <file.sqlite> or $${STATE_ENV}`);
        const chain = await Promise.all(options.root.map((path) => readRootFile(cliPath(io, path))));
        const revocations =
          options.revocations === undefined
            ? undefined
            : await readRootFile(cliPath(io, options.revocations));
        const bytes = await readPackageFile(cliPath(io, file));
        const store = statePath === undefined ? undefined : await SqliteStore.open(cliPath(io, statePath));
        let result: ValidationResult;
        try {
          const trustRoot = await loadTrustRoot(chain, {
            ...(store === undefined ? {} : { store }),
            ...(revocations === undefined ? {} : { revocations }),
          });
          result = await verifyPackage(bytes, { trustRoot, ...(store === undefined ? {} : { store }) });
          if (result.ok && options.install === true && store !== undefined && result.manifest !== undefined) {
            await recordInstalled(store, result.manifest);
          }
        } finally {
          await store?.close();
        }
        report(io, result, options.install === true);
      },
    );
}

function report(io: CliIo, result: ValidationResult, installed: boolean): void {
  const manifest = result.manifest;
  const body = {
    ok: result.ok,
    code: result.code,
    message: result.message,
    ...(manifest === undefined ? {} : { package: { name: manifest.name, version: manifest.version } }),
    ...(result.digest === undefined ? {} : { digest: result.digest }),
    signers: result.signers,
    checks: result.checks,
    ...(result.ok ? { installed } : {}),
  };
  if (!result.ok) {
    if (io.json) {
      printJson(io, body);
      throw new CliExit(1, result.code === 'OK' ? 'FORGE_INTERNAL' : result.code);
    }
    throw new ForgeError(result.code === 'OK' ? 'FORGE_INTERNAL' : result.code, result.message);
  }
  if (io.json) return printJson(io, body);
  io.out(
    `OK: ${manifest?.name}@${manifest?.version} is valid (signed by ${result.signers.map((s) => s.algorithm).join(' + ')})${installed ? '; recorded as installed' : ''}`,
  );
}
