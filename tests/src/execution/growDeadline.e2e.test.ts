import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { forgeone, type CliRun } from '../support/cli';

const scratch = mkdtempSync(join(tmpdir(), 'forgeone-e2e-grow-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
};

/** Grows memory one page at a time, forever (issue 12: the process exited many seconds after its deadline). */
const GROW = file(
  'grow.wat',
  '(module (memory 1 4096) (func (export "_start") (loop $l (drop (memory.grow (i32.const 1))) (br $l))))',
);
/** The same loop without memory.grow: how long a run stopped at its deadline takes on this machine. */
const SPIN = file('spin.wat', '(module (memory 1 4096) (func (export "_start") (loop $l (br $l))))');
const TIMEOUT_MS = 1500;

function timedRun(module: string, isolation: string): { run: CliRun; ms: number } {
  const started = performance.now();
  const run = forgeone([
    'run',
    module,
    '--memory-pages',
    '4096',
    '--timeout',
    String(TIMEOUT_MS),
    '--isolation',
    isolation,
  ]);
  return { run, ms: performance.now() - started };
}

describe('forgeone run: a guest growing memory in a loop (end to end)', () => {
  it.each(['worker', 'inline'])(
    'exits soon after --timeout under %s isolation, as a plain loop does',
    (isolation) => {
      const spin = timedRun(SPIN, isolation);
      const grow = timedRun(GROW, isolation);
      for (const { run } of [spin, grow]) {
        expect(run.code).toBe(1);
        expect(run.stderr).toMatch(/^FORGE_LIMIT_TIMEOUT: .*deadline of 1500 ms/);
      }
      // Before memory.grow went through the host, the process ran on until the memory was full
      // (8 s to over a minute): not a timing test, a bound far above the noise of a loaded machine.
      expect(grow.ms).toBeLessThan(spin.ms + 2500);
    },
  );
});
