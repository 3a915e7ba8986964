import type { WorkloadResult } from '@forgeone/core';
import { CliExit, printJson, type CliIo } from '../cliIo';

/**
 * Prints how every workload ended, in the file's order (text, or `{ ok, workloads }` with --json),
 * and ends the command with exit 1 unless every one succeeded.
 */
export function printSchedule(
  io: CliIo,
  run: { readonly policy: string; readonly concurrency: number },
  results: readonly WorkloadResult[],
): void {
  const ok = results.every((r) => r.state === 'succeeded');
  const count = (state: WorkloadResult['state']) => results.filter((r) => r.state === state).length;
  const summary = `${count('succeeded')} succeeded, ${count('failed')} failed, ${count('cancelled')} cancelled (policy ${run.policy}, concurrency ${run.concurrency})`;
  const waited = (r: WorkloadResult) => Math.max(0, Math.round(r.waitedMs));
  if (io.json) {
    printJson(io, {
      ok,
      code: ok ? 'OK' : 'FORGE_SCHEDULE_INCOMPLETE',
      message: summary,
      workloads: results.map((r) => ({
        name: r.id,
        state: r.state,
        startOrder: r.startOrder,
        exitCode: r.exitCode,
        waitedMs: waited(r),
        ...(r.reason === undefined ? {} : { reason: r.reason }),
      })),
    });
  } else {
    const width = Math.max(4, ...results.map((r) => r.id.length));
    io.out(`--- schedule: ${summary} ---`);
    for (const r of results) {
      const order = r.startOrder === null ? '-' : `#${r.startOrder}`;
      const exit = r.exitCode === null ? '-' : String(r.exitCode);
      const reason = r.reason === undefined ? '' : `  ${r.reason}`;
      io.out(
        `${r.id.padEnd(width)}  ${r.state.padEnd(9)}  start ${order.padEnd(5)}  exit ${exit.padEnd(4)}  waited ${waited(r)}ms${reason}`,
      );
    }
  }
  if (!ok) throw new CliExit(1);
}
