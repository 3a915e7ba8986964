import { resolve } from 'node:path';
import type { Command } from 'commander';
import { readSourceFile } from '@forgeone/trust';
import { printResult, type CliIo } from '../../cliIo';
import { integerFlag } from '../../flagValues';
import { oneLine } from '../remoteFormat';
import type { SessionOf } from '../remoteSession';

interface VersionJson {
  version: number;
  kind: string;
  digest: string;
  mode: string;
  source: string | null;
  testsPassed: number;
  active: boolean;
  at: number;
}

/** One version, as `policy ls` prints it. */
function versionLine(v: VersionJson): string {
  const mark = v.active ? '*' : ' ';
  const source = v.source === null ? '' : `  ${oneLine(v.source)}`;
  return `${mark} v${v.version}  ${v.kind.padEnd(8)}  ${v.mode.padEnd(10)}  ${v.digest.slice(0, 12)}  ${new Date(v.at).toISOString()}  ${v.testsPassed} test(s)${source}`;
}

/**
 * A policy or cases file read here (YAML or JSON, checked for size, syntax and alias bombs with
 * its line and column before anything is sent) and sent as the document it holds.
 */
async function documentOf(io: CliIo, file: string): Promise<string | Record<string, unknown>> {
  const { value } = await readSourceFile(resolve(io.cwd, file));
  // Anything but a mapping goes as text: the daemon refuses it with its own code.
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : JSON.stringify(value);
}

/** `forgeone --remote URL policy ls|push|activate`: the daemon's live policy versions. */
export function registerRemotePolicy(program: Command, io: CliIo, session: SessionOf): void {
  const policy = program
    .command('policy')
    .description("list, upload and activate the daemon's policy versions");

  policy
    .command('ls')
    .description('list the policy versions the daemon keeps (* is in force)')
    .option('--json', 'print the versions as JSON')
    .action(async () => {
      const list = await session().call('listPolicies');
      const message = `v${list.active} in force (${list.mode}); ${list.versions.length} version(s) kept, from the ${list.source}`;
      printResult(io, { message, lines: [message, ...list.versions.map(versionLine)], data: list });
    });

  policy
    .command('push')
    .description('upload a policy version: compiled and its test cases run on the daemon first')
    .argument('<policy>', 'policy file (YAML or JSON)')
    .argument('[cases]', 'its test cases (YAML or JSON, kind: PolicyTests): every case must pass')
    .option('--activate', 'put it in force at once (a daemon on a policy directory always does)')
    .option('--reason <text>', 'why (kept in the history)')
    .option('--json', 'print the version as JSON')
    .action(
      async (file: string, cases: string | undefined, flags: { activate?: boolean; reason?: string }) => {
        const document = await documentOf(io, file);
        const tests = cases === undefined ? undefined : await documentOf(io, cases);
        const source = file
          .split(/[\\/]/)
          .pop()!
          .replace(/[^\w .:@+/-]/g, '_')
          .slice(0, 200);
        const result = await session().call('uploadPolicy', {
          body: {
            document,
            ...(tests === undefined ? {} : { tests }),
            ...(source.length > 0 ? { source } : {}),
            ...(flags.reason === undefined ? {} : { reason: flags.reason }),
            ...(flags.activate ? { activate: true } : {}),
          },
        });
        printResult(io, {
          message: `${result.activated ? 'in force' : 'kept'}: v${result.version.version} (${result.version.testsPassed} test(s) passed)`,
          lines: [versionLine(result.version)],
          data: result,
        });
      },
    );

  policy
    .command('activate')
    .description('put a kept version in force (an older one is a rollback, made a new version)')
    .argument(
      '<version>',
      'the version number (policy ls lists them)',
      integerFlag('<version>', 1, 999_999_999),
    )
    .option('--reason <text>', 'why (kept in the history)')
    .option('--json', 'print the version as JSON')
    .action(async (version: number, flags: { reason?: string }) => {
      const result = await session().call('activatePolicy', {
        params: { version: String(version) },
        body: flags.reason === undefined ? {} : { reason: flags.reason },
      });
      const message = `in force: v${result.version.version}${result.version.from === undefined ? '' : ` (the document of v${result.version.from})`}`;
      printResult(io, { message, lines: [message, versionLine(result.version)], data: result });
    });
}
