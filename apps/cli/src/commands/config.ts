import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ForgeError } from '@forgeone/common';
import {
  ConfigContext,
  ConfigWatcher,
  formatConfigProblem,
  formatConfigSource,
  resolveConfig,
  type ConfigProblem,
  type ReloadResult,
} from '@forgeone/config';
import { CliExit, printJson, printResult, type CliIo } from '../cliIo';
import { configEnvironment, kernelConfigPolicies, kernelConfigSchema } from './configKernel';

const collect = (value: string, previous: string[]) => [...previous, value];

interface ConfigFlags {
  readonly set: string[];
}

async function resolveFor(io: CliIo, file: string | undefined, flags: ConfigFlags) {
  return resolveConfig({
    schema: kernelConfigSchema,
    ...(file === undefined ? {} : { file: resolve(io.cwd, file) }),
    env: configEnvironment(io),
    sets: flags.set,
    policies: kernelConfigPolicies,
  });
}

function problemsError(problems: readonly ConfigProblem[]): ForgeError {
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (+${problems.length - 1} more)` : '';
  return new ForgeError(first.code, `${first.where}: ${first.message}${more}`);
}

/** A leaf value for a text line: JSON, so strings are quoted and arrays readable. */
const shown = (value: unknown) => JSON.stringify(value) ?? 'undefined';

function leafEntries(value: unknown, prefix = ''): [string, unknown][] {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length > 0) {
    return Object.entries(value).flatMap(([k, v]) => leafEntries(v, prefix ? `${prefix}.${k}` : k));
  }
  return [[prefix, value]];
}

/** `forgeone config check|show|watch`: validate a kernel configuration and show the effective one. */
export function registerConfig(program: Command, io: CliIo): void {
  const config = program
    .command('config')
    .description(
      'check and show the kernel configuration (forgeone.yaml < FORGEONE_* environment < --set flags)',
    );

  config
    .command('check')
    .description(
      'validate a configuration file (with the environment and flags); exit 0 only when it would boot',
    )
    .argument('<file>', 'forgeone.yaml (YAML or JSON)')
    .option('--set <path=value>', 'a setting over the file and environment (repeatable)', collect, [])
    .option('--json', 'print a JSON result')
    .action(async (file: string, flags: ConfigFlags) => {
      const result = await resolveFor(io, file, flags);
      if (!result.ok) {
        if (io.json) {
          const refusal = problemsError(result.problems);
          printJson(io, {
            ok: false,
            code: refusal.code,
            message: refusal.message,
            problems: result.problems,
          });
        } else for (const problem of result.problems) io.err(formatConfigProblem(problem));
        throw new CliExit(1, result.problems[0]!.code);
      }
      const fromFile = [...result.sources.values()].filter((s) => s.kind === 'file').length;
      const message = `${file}: ok (${fromFile} setting(s) from the file, ${result.rules.length} change polic${result.rules.length === 1 ? 'y' : 'ies'})`;
      printResult(io, {
        message,
        data: { file, settings: fromFile, changePolicies: result.rules.length, problems: [] },
      });
    });

  config
    .command('show')
    .description('print the configuration a kernel would boot with (secrets stay secret:<name> references)')
    .option('--config <file>', 'forgeone.yaml (YAML or JSON); none: defaults, environment and flags')
    .option('--effective', 'show where each value comes from (default, file:line:col, env NAME, flag)')
    .option('--set <path=value>', 'a setting over the file and environment (repeatable)', collect, [])
    .option('--json', 'print JSON')
    .action(async (flags: ConfigFlags & { config?: string; effective?: boolean }) => {
      const result = await resolveFor(io, flags.config, flags);
      if (!result.ok || result.config === undefined) throw problemsError(result.problems);
      const sources = Object.fromEntries(
        [...result.sources].map(([path, source]) => [path, formatConfigSource(source)]),
      );
      if (io.json) {
        printJson(io, {
          ok: true,
          code: 'OK',
          message: flags.effective ? 'effective configuration' : 'configuration',
          config: result.config,
          ...(flags.effective ? { sources } : {}),
          changePolicies: result.rules,
        });
        return;
      }
      for (const [path, value] of leafEntries(result.config)) {
        io.out(
          flags.effective
            ? `${path} = ${shown(value)}  # ${sources[path] ?? 'default'}`
            : `${path} = ${shown(value)}`,
        );
      }
      for (const rule of result.rules) io.out(`changePolicies: ${JSON.stringify(rule)}`);
    });

  config
    .command('watch')
    .description(
      'apply each valid rewrite of a configuration file, refuse each invalid one; one line per reload',
    )
    .argument('<file>', 'forgeone.yaml (YAML or JSON)')
    .option('--set <path=value>', 'a setting over the file and environment (repeatable)', collect, [])
    .option('--json', 'print one JSON line per reload')
    .action(async (file: string, flags: ConfigFlags) => {
      if (!io.onInterrupt)
        throw new ForgeError(
          'FORGE_CLI_UNSUPPORTED_OPTION',
          'config watch runs only as a process (it ends on SIGINT or SIGTERM)',
        );
      const path = resolve(io.cwd, file);
      const env = configEnvironment(io);
      const start = await resolveFor(io, file, flags);
      if (!start.ok || start.config === undefined) throw problemsError(start.problems);
      const context = await ConfigContext.open({
        schema: kernelConfigSchema,
        initial: start.config,
        rules: start.rules,
        policies: kernelConfigPolicies,
      });
      const print = (result: ReloadResult) =>
        io.out(
          io.json
            ? JSON.stringify(result)
            : result.applied
              ? `applied version ${result.version}: ${result.changed.length > 0 ? result.changed.join(', ') : '(no change)'}`
              : `refused ${result.code}: ${result.message}`,
        );
      let stop: () => void = () => undefined;
      const stopped = new Promise<void>((done) => (stop = done));
      const watcher = new ConfigWatcher({
        file: path,
        context,
        rules: start.rules,
        env,
        sets: flags.set,
        onResult: print,
      });
      io.onInterrupt({
        stop() {
          watcher.close();
          stop();
        },
        summary: () => `the configuration was at version ${context.version}`,
      });
      io.err(`watching ${file} (version ${context.version}); SIGINT or SIGTERM ends`);
      await stopped;
    });
}
