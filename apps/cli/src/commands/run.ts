import { readFile, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ForgeError, enforcementModes, type EnforcementMode } from '@forgeone/common';
import { defaultRuntimeConfig } from '@forgeone/config';
import { createKernel } from '@forgeone/interface';
import { AllowListPdp } from '@forgeone/trust';
import type { RunReport } from '@forgeone/core';
import { CliExit, printJson, type CliIo } from '../cliIo';

interface RunFlags {
  allow: string[];
  mode: EnforcementMode;
  call?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

/** `forgeone run <module>`: run a module with every host call going through the gate. */
export function registerRun(program: Command, io: CliIo): void {
  program
    .command('run')
    .description('run a WebAssembly module (.wasm or .wat) under the syscall gate')
    .argument('<module>', 'path to a .wasm or .wat file')
    .option(
      '--allow <syscalls>',
      'allow these syscalls (comma-separated, repeatable; default deny)',
      collect,
      [],
    )
    .addOption(
      new Option('--mode <mode>', 'enforcement mode').choices([...enforcementModes]).default('enforce'),
    )
    .option('--call <export>', 'export to call instead of _start')
    .option('--json', 'print the run report as JSON')
    .action(async (modulePath: string, flags: RunFlags) => {
      const source = await readModuleFile(resolve(io.cwd, modulePath));
      const kernel = await createKernel({ config: { mode: flags.mode } });
      try {
        const pdp = new AllowListPdp(flags.allow, { knownSyscalls: kernel.runtime.syscallNames() });
        const report = await kernel.runtime.runModule({
          source,
          name: basename(modulePath),
          ...formatOf(modulePath),
          pdp,
          ...(flags.call ? { entry: flags.call } : {}),
          ...(io.json ? {} : { onLog: (message: string) => io.out(message) }),
        });
        printReport(io, report);
        if (report.outcome.status === 'trapped') {
          if (!io.json) io.err(report.outcome.error.toLine());
          throw new CliExit(1, report.outcome.error.code);
        }
        if (report.outcome.exitCode !== 0) throw new CliExit(report.outcome.exitCode);
      } finally {
        await kernel.shutdown();
      }
    });
}

async function readModuleFile(path: string): Promise<Uint8Array> {
  const max = defaultRuntimeConfig().limits.maxModuleBytes;
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new ForgeError('FORGE_WASM_NOT_FOUND', `${path} is not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof ForgeError) throw error;
    throw new ForgeError(
      'FORGE_WASM_NOT_FOUND',
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  // Checked before reading, so a huge file is never loaded into memory.
  if (size > max) {
    throw new ForgeError(
      'FORGE_WASM_LIMIT',
      `${path} is ${size} bytes, over the module size limit of ${max}`,
    );
  }
  if (size === 0) throw new ForgeError('FORGE_WASM_INVALID', `${path} is empty`);
  return new Uint8Array(await readFile(path));
}

/** The extension decides when there is one: a `.wasm` that is really text is refused, not parsed. */
function formatOf(path: string): { format?: 'wasm' | 'wat' } {
  if (/\.wasm$/i.test(path)) return { format: 'wasm' };
  if (/\.wat$/i.test(path)) return { format: 'wat' };
  return {};
}

function printReport(io: CliIo, report: RunReport): void {
  const { outcome } = report;
  if (io.json) {
    printJson(io, {
      ok: outcome.status !== 'trapped' && outcome.exitCode === 0,
      code: outcome.status === 'trapped' ? outcome.error.code : 'OK',
      message:
        outcome.status === 'trapped'
          ? outcome.error.message
          : `${outcome.status} with code ${outcome.exitCode}`,
      containerId: report.containerId,
      module: report.moduleSha256,
      status: outcome.status,
      exitCode: outcome.exitCode,
      logs: report.logs,
      calls: report.trace.map((e) => ({
        seq: e.seq,
        syscall: e.syscall,
        action: e.action,
        executed: e.executed,
        result: e.result,
        reasons: e.reasons,
      })),
      dna: report.dna,
    });
    return;
  }
  const denied = report.trace.filter((e) => e.action !== 'allow').length;
  io.out(`--- trace: ${report.trace.length} call(s), ${denied} denied ---`);
  const width = Math.max(8, ...report.trace.map((e) => e.syscall.length));
  for (const event of report.trace) {
    const why = event.reasons[0]?.message ?? '';
    io.out(
      `#${String(event.seq).padEnd(3)} ${event.syscall.padEnd(width)}  ${event.action.padEnd(5)}  -> ${event.result ?? '-'}  ${why}`,
    );
  }
  const ended =
    outcome.status === 'trapped'
      ? `trapped (${outcome.error.code})`
      : `${outcome.status}, exit code ${outcome.exitCode}`;
  io.out(`--- ${ended} ---`);
}
