import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { ForgeError, enforcementModes, forgeErrorCodes, type EnforcementMode } from '@forgeone/common';
import { limitBounds } from '@forgeone/config';
import { isTerminal } from '@forgeone/core';
import type { ApiRoutes, RouteRequest } from '@forgeone/interface';
import { CliExit, printJson, usageError, type CliIo } from '../../cliIo';
import { cliPath, commaList, integerFlag } from '../../flagValues';
import { EXIT_QUARANTINED, MAX_TRACE_LINES } from '../../commands/runReport';
import { launchSource } from '../remoteLaunch';
import { containerLine, isCallEvent, traceEventLine, type ContainerInfoJson } from '../remoteFormat';
import type { RemoteSession, SessionOf } from '../remoteSession';
import { followUntilInterrupted } from '../stopSignal';

type LaunchBody = NonNullable<RouteRequest<ApiRoutes['launchContainer']>['body']>;
type Wire = NonNullable<NonNullable<RouteRequest<ApiRoutes['invokeContainer']>['body']>['args']>[number];

interface RemoteRunFlags {
  allow: string[];
  policy?: string;
  mode: EnforcementMode;
  isolation?: 'inline' | 'worker';
  call?: string;
  args?: string[];
  timeout?: number;
  memoryPages?: number;
  fuel?: number;
  name?: string;
}

const collect = commaList;

/**
 * `forgeone --remote URL run <name@version | file> [--call export --args ...]`: launches on the
 * daemon, waits for the container to end (a command) or calls one export and stops it (a
 * service), and prints the report from the daemon's trace as the local `run` prints it.
 */
export function registerRemoteRun(program: Command, io: CliIo, session: SessionOf): void {
  program
    .command('run')
    .description(
      'launch an installed package (name@version), a .forgepkg or a development module on the daemon, wait, report',
    )
    .argument('<package>', 'name@version of an installed package, or a .forgepkg, .wasm or .wat file')
    .argument('[guestArgs...]', 'guest arguments (not taken by the daemon: refused)')
    .option(
      '--allow <syscalls>',
      'allow these syscalls (comma-separated, repeatable; default deny)',
      collect,
      [],
    )
    .option(
      '--policy <policy.yaml>',
      'decide every call with this ZTA policy (sent to the daemon, compiled there)',
    )
    .addOption(
      new Option('--mode <mode>', 'enforcement mode').choices([...enforcementModes]).default('enforce'),
    )
    .addOption(
      new Option('--isolation <mode>', 'where the guest runs (default: the daemon’s)').choices([
        'inline',
        'worker',
      ]),
    )
    .option('--call <export>', 'launch as a service and call this export (then stop it)')
    .option(
      '--args <values...>',
      'arguments of --call: i32:5, i64:5, f32:1.5, f64:1.5, string:text (a bare integer is i32)',
    )
    .option(
      '--timeout <ms>',
      'wall-clock deadline of each call, ms',
      integerFlag('--timeout', limitBounds.timeoutMs.min, limitBounds.timeoutMs.max),
    )
    .option(
      '--memory-pages <n>',
      'most 64 KiB pages of linear memory',
      integerFlag('--memory-pages', limitBounds.memoryPages.min, limitBounds.memoryPages.max),
    )
    .option(
      '--fuel <n>',
      'fuel per call (0: off)',
      integerFlag('--fuel', limitBounds.fuel.min, limitBounds.fuel.max),
    )
    .option('--name <name>', 'the container name (default: the module or package name)')
    .option('--json', 'print the run report as JSON')
    .action(async (target: string, guestArgs: string[], flags: RemoteRunFlags) => {
      if (guestArgs.length > 0)
        throw new ForgeError(
          'FORGE_CLI_UNSUPPORTED_OPTION',
          "[guestArgs...] cannot be honoured with --remote: the daemon's launch takes no guest arguments",
          { details: { option: '[guestArgs...]', remote: true } },
        );
      if (flags.policy !== undefined && flags.allow.length > 0)
        throw usageError('give either --policy or --allow, not both');
      if (flags.args !== undefined && flags.call === undefined)
        throw usageError('--args are the arguments of --call: give --call <export>');
      const args = (flags.args ?? []).map(typedArg);
      const remote = session();
      const policy: LaunchBody['policy'] =
        flags.policy === undefined
          ? { mode: flags.mode, allow: flags.allow }
          : { mode: flags.mode, document: await readPolicy(io, flags.policy) };
      const limits = {
        ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout }),
        ...(flags.memoryPages === undefined ? {} : { memoryPages: flags.memoryPages }),
        ...(flags.fuel ? { fuel: flags.fuel } : {}),
      };
      const launched = await remote.call('launchContainer', {
        body: {
          ...(await launchSource(io, remote, target)),
          policy,
          kind: flags.call === undefined ? 'command' : 'service',
          ...(flags.isolation === undefined ? {} : { isolation: flags.isolation }),
          ...(flags.name === undefined ? {} : { name: flags.name }),
          ...(Object.keys(limits).length === 0 ? {} : { limits }),
        },
      });
      const id = launched.id;
      let values: Wire[] = [];
      let trapped: { code: string; message: string } | undefined;
      let container: ContainerInfoJson;
      if (flags.call === undefined) {
        container = await waitForEnd(io, remote, launched.container);
      } else {
        const result = await remote.call('invokeContainer', {
          params: { id },
          body: { export: flags.call, args },
        });
        values = result.values;
        if (result.outcome.status === 'trapped')
          trapped = {
            code: result.outcome.code ?? 'FORGE_API_CLIENT',
            message: result.outcome.message ?? 'trapped',
          };
        container = await remote.call('getContainer', { params: { id } });
        if (!isTerminal(container.state) && container.state !== 'quarantined')
          container = await remote.call('stopContainer', { params: { id } });
      }
      await printReport(io, remote, container, values, trapped);
    });
}

/** Polls the container until it ends (or is quarantined); SIGINT stops it on the daemon. */
async function waitForEnd(
  io: CliIo,
  remote: RemoteSession,
  first: ContainerInfoJson,
): Promise<ContainerInfoJson> {
  let container = first;
  const stop = followUntilInterrupted(io, () => `container ${first.id} was stopped on the daemon`);
  for (
    let wait = 20;
    !isTerminal(container.state) && container.state !== 'quarantined';
    wait = Math.min(500, wait * 2)
  ) {
    await stop.sleep(wait);
    if (stop.signal.aborted) return remote.call('stopContainer', { params: { id: first.id } });
    container = await remote.call('getContainer', { params: { id: first.id } });
  }
  return container;
}

async function printReport(
  io: CliIo,
  remote: RemoteSession,
  container: ContainerInfoJson,
  values: Wire[],
  trapped: { code: string; message: string } | undefined,
): Promise<void> {
  const page = await remote.call('getContainerTrace', {
    params: { id: container.id },
    query: { limit: 10_000 },
  });
  const calls = page.events.filter(isCallEvent);
  const exitCode = container.exitCode ?? null;
  const failed = container.state === 'failed' || trapped !== undefined;
  const code =
    trapped?.code ?? (container.state === 'failed' ? (container.reason ?? 'FORGE_API_CLIENT') : 'OK');
  if (io.json) {
    printJson(io, {
      ok: !failed && container.state !== 'quarantined' && (exitCode ?? 0) === 0,
      code,
      message: trapped?.message ?? `${container.state}${exitCode === null ? '' : ` with code ${exitCode}`}`,
      containerId: container.id,
      container,
      state: container.state,
      exitCode,
      results: values,
      calls,
    });
  } else {
    const denied = calls.filter((e) => e['action'] !== 'allow').length;
    io.out(`--- trace: ${calls.length} call(s), ${denied} denied ---`);
    const shown = calls.slice(0, MAX_TRACE_LINES);
    const width = Math.max(8, ...shown.map((e) => String(e['syscall']).length));
    for (const event of shown) io.out(traceEventLine(event, width));
    if (calls.length > shown.length) io.out(`... ${calls.length - shown.length} more call(s)`);
    for (const value of values) io.out(`=> ${value.type} ${String(value.value)}`);
    io.out(`--- ${containerLine(container)} ---`);
  }
  if (container.state === 'quarantined') {
    if (!io.json)
      io.err(
        `FORGE_CONTAINER_QUARANTINED: container ${container.id} is held in quarantine (forgeone --remote ${remote.target.url} quarantine show ${container.id})`,
      );
    throw new CliExit(EXIT_QUARANTINED, 'FORGE_CONTAINER_QUARANTINED');
  }
  if (failed) {
    const known = Object.hasOwn(forgeErrorCodes, code) ? code : 'FORGE_API_CLIENT';
    if (!io.json) io.err(`${known}: ${trapped?.message ?? `container ${container.id} failed`}`);
    throw new CliExit(1, known as never);
  }
  if (exitCode !== null && exitCode !== 0) throw new CliExit(exitCode);
}

/** A --call argument: `type:value`, or a bare integer (i32). */
function typedArg(text: string): Wire {
  const colon = text.indexOf(':');
  const type = colon < 0 ? (/^-?\d+$/.test(text) ? 'i32' : '') : text.slice(0, colon);
  const value = colon < 0 ? text : text.slice(colon + 1);
  const number = Number(value);
  if ((type === 'i32' || type === 'i64') && !/^-?\d{1,20}$/.test(value))
    throw usageError(`--args ${text}: ${type} takes an integer`);
  if (type === 'i32') return { type, value: number };
  if (type === 'i64') return { type, value };
  if ((type === 'f32' || type === 'f64') && value.trim() !== '' && Number.isFinite(number))
    return { type, value: number };
  if (type === 'string') return { type, value };
  throw usageError(`--args ${JSON.stringify(text)}: write i32:N, i64:N, f32:X, f64:X or string:TEXT`);
}

async function readPolicy(io: CliIo, file: string): Promise<string> {
  const path = cliPath(io, file);
  return readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new ForgeError(
      'FORGE_CLI_FILE_UNREADABLE',
      `cannot read the policy ${path}: ${error.code ?? 'error'}`,
      {
        details: { path },
      },
    );
  });
}
