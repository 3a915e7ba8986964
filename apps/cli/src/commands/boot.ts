import { Option, type Command } from 'commander';
import { MemoryStore, openStateStore, type StoragePort } from '@forgeone/common';
import { bootModes, type BootContext, type BootMode, type RevocationStatus } from '@forgeone/core';
import { createKernel } from '@forgeone/interface';
import { DEFAULT_AUDIT_LOG } from '@forgeone/trust';
import { printResult, type CliIo } from '../cliIo';
import { STATE_ENV, cliPath } from '../flagValues';

interface BootFlags {
  root?: string;
  mode: BootMode;
  state?: string;
}

/** What a kernel booted without --root is, in one line. */
const NO_ROOT =
  'none (no --root given): a development kernel; .wasm/.wat modules run, a .forgepkg cannot be verified and is refused';

/**
 * `forgeone boot`: boots a kernel exactly as the daemon does (createKernel with `boot`: trust
 * anchor, revocation status, self-test, audit entry), prints what it booted with, and stops it:
 * a check to run before starting the daemon.
 */
export function registerBoot(program: Command, io: CliIo): void {
  program
    .command('boot')
    .description(
      'boot a kernel as the daemon does (verify the trust root and its revocation status, self-test, audit the boot), print the boot context and stop',
    )
    .option('--root <root.json>', 'the trust root to boot on (default: none, a development kernel)')
    .addOption(new Option('--mode <mode>', 'the boot mode').choices([...bootModes]).default('normal'))
    .option(
      '--state <dir>',
      `the state: a directory (holding kernel.db) or a .sqlite/.db file (default: $${STATE_ENV}, else memory): the self-test checks it, the boot is audited into it and the trusted root version is kept in it`,
    )
    .option('--json', 'print the boot context as JSON')
    .action(async (flags: BootFlags) => {
      const statePath = flags.state ?? (io.env(STATE_ENV) || undefined);
      const state = statePath === undefined ? undefined : cliPath(io, statePath);
      const store: StoragePort = state === undefined ? new MemoryStore() : await openStateStore(state);
      let kernel: Awaited<ReturnType<typeof createKernel>>;
      try {
        kernel = await createKernel({
          store,
          auditStore: store,
          boot: {
            mode: flags.mode,
            ...(flags.root === undefined
              ? {}
              : { rootPath: cliPath(io, flags.root), rootSource: flags.root }),
          },
        });
      } catch (error) {
        await store.close();
        throw error;
      }
      // A check only: the kernel stops again (and closes the store) once it has booted.
      await kernel.shutdown('boot check done');
      const context = kernel.boot;
      if (context === undefined) throw new Error('createKernel was given boot options and did not boot');
      const where = state ?? 'memory (nothing is kept; give --state DIR)';
      printResult(io, {
        message: `booted in ${context.mode} mode`,
        lines: describeBoot(context, where),
        data: { boot: context, state: state ?? null },
      });
    });
}

function describeBoot(context: BootContext, where: string): string[] {
  const { root, selfTest } = context;
  const checks = selfTest.checks.map((c) => (c.ok ? c.name : `${c.name} FAILED (${c.detail})`)).join(', ');
  return [
    `OK: booted in ${context.mode} mode at ${context.bootedAt} (a check: the kernel was stopped again)`,
    `mode:        ${context.mode}`,
    `trust root:  ${
      root === null
        ? NO_ROOT
        : `v${root.version} from ${root.source}, expires ${root.expires}; root keys ${root.rootKeyIds.map(short).join(', ')}; all keys ${root.keyIds.map(short).join(', ')}`
    }`,
    `revocation:  ${describeRevocation(context.revocation)}`,
    `self-test:   ${selfTest.ok ? 'ok' : 'FAILED'} (${checks})`,
    `state:       ${where}`,
    `audit:       ${context.auditSeq === null ? 'not audited' : `entry ${context.auditSeq} of log "${DEFAULT_AUDIT_LOG}"`}`,
  ];
}

function describeRevocation(status: RevocationStatus): string {
  switch (status.status) {
    case 'valid':
      return status.source === 'none'
        ? 'valid (no revocation list was issued)'
        : `valid (list v${status.version}, ${status.source}${status.revokedKeyIds.length > 0 ? `; revoked keys ${status.revokedKeyIds.map(short).join(', ')} sign nothing` : ''})`;
    case 'revoked':
      return `revoked: ${status.reason}`;
    case 'unknown':
      return `unknown: ${status.reason}`;
  }
}

const short = (id: string) => `${id.slice(0, 16)}…`;
