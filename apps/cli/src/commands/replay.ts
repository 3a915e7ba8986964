import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { ForgeError } from '@forgeone/common';
import { createKernel } from '@forgeone/interface';
import { readTraceFile } from '@forgeone/observer';
import { CliExit, printJson, type CliIo } from '../cliIo';

/** `forgeone replay <trace.jsonl> <module>`: re-run a module from its recorded trace. */
export function registerReplay(program: Command, io: CliIo): void {
  program
    .command('replay')
    .description(
      're-run a module from a trace written by `run --trace`: recorded results, no world; reports the first divergence',
    )
    .argument('<trace.jsonl>', 'trace written by `forgeone run --trace`')
    .argument('<module>', 'the .wasm or .wat file that was recorded')
    .option('--json', 'print the replay report as JSON')
    .action(async (tracePath: string, modulePath: string) => {
      // Every field is checked (bounds and hash chain included) before the module is even read: a
      // bad trace is one FORGE_TRACE_INVALID (or _TAMPERED) line naming its line, and nothing runs.
      const trace = await readTraceFile(resolve(io.cwd, tracePath));
      const kernel = await createKernel();
      try {
        const result = await kernel.runtime.replay({
          file: resolve(io.cwd, modulePath),
          name: basename(modulePath),
          trace,
        });
        const { outcome, divergence, instance } = result;
        const stdout = Buffer.from(instance.stdout()).toString('utf8');
        const stderr = Buffer.from(instance.stderr()).toString('utf8');
        const message = divergence
          ? `replay diverged at call #${divergence.seq} (${divergence.kind}): expected ${divergence.expected}, got ${divergence.actual}`
          : `replayed ${result.replayed} of ${trace.events.length} call(s); ${outcome.status} with code ${outcome.status === 'trapped' ? outcome.error.code : outcome.exitCode}`;
        if (io.json) {
          printJson(io, {
            ok: divergence === undefined,
            code: divergence ? 'FORGE_REPLAY_DIVERGED' : 'OK',
            message,
            module: trace.header.module,
            replayed: result.replayed,
            recorded: trace.events.length,
            ...(divergence ? { divergence } : {}),
            status: outcome.status,
            exitCode: outcome.exitCode,
            logs: instance.logs(),
            stdout,
            stderr,
          });
        } else {
          for (const line of instance.logs()) io.out(line);
          if (stdout !== '') for (const line of stdout.replace(/\n$/, '').split('\n')) io.out(line);
          if (stderr !== '') for (const line of stderr.replace(/\n$/, '').split('\n')) io.err(line);
          if (divergence === undefined) io.out(`--- ${message} ---`);
        }
        if (divergence) {
          if (io.json) throw new CliExit(1, 'FORGE_REPLAY_DIVERGED');
          throw new ForgeError('FORGE_REPLAY_DIVERGED', message, {
            details: { seq: divergence.seq, kind: divergence.kind },
          });
        }
        if (outcome.status === 'trapped') {
          // As `run` does: the code and message of how the guest ended, on one line.
          if (!io.json) io.err(outcome.error.toLine());
          throw new CliExit(1, outcome.error.code);
        }
        if (outcome.exitCode !== 0) throw new CliExit(outcome.exitCode);
      } finally {
        await kernel.shutdown();
      }
    });
}
