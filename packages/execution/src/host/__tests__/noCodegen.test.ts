import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// A zero-trust operator may start the kernel with `--disallow-code-generation-from-strings`: the
// gate must take the same path there as anywhere (it generates no code), and trace alike.

const run = promisify(execFile);
const dist = pathToFileURL(fileURLToPath(new URL('../../../dist/index.js', import.meta.url))).href;

/** A guest making 5,000 hot calls of forge.clock_now and one denied forge.log, run in a child process. */
const script = (isolation: string) => `
import { WasmHost, watToWasm } from ${JSON.stringify(dist)};
const WAT = \`(module
  (import "forge" "clock_now" (func $len (param i32) (result i32)))
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $i i32)
    (loop $again
      (drop (call $len (i32.const 64)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 5000))))
    (drop (call $log (i32.const 0) (i32.const 0)))))\`;
const host = new WasmHost({ development: true, isolation: ${JSON.stringify(isolation)} });
try {
  const module = await host.loadModule(await watToWasm(WAT));
  const run = await host.run(module, {
    enforcer: { mode: 'enforce', policy: { kind: 'allow-list', allow: ['forge.clock_now'] } },
    traceCapacity: 10000,
  });
  const events = run.instance.trace();
  let codegen = 'allowed';
  try { new Function('return 1'); } catch { codegen = 'refused'; }
  console.log(JSON.stringify({
    codegen,
    status: run.outcome.status,
    calls: events.length,
    actions: [...new Set(events.map((e) => e.syscall + ':' + e.action + ':' + e.result))],
    writes: events.filter((e) => e.writes !== undefined && e.writes.length === 1).length,
    seqs: events.every((e, i) => e.seq === i + 1),
    dna: run.instance.dna().totalCalls,
  }));
} finally {
  await host.close();
}
`;

async function traceIn(isolation: 'inline' | 'worker', flags: readonly string[]): Promise<unknown> {
  // A file, not `-e`: a worker inherits the process's flags, and `--input-type` is for `-e` only.
  const dir = await mkdtemp(join(tmpdir(), 'forge-nocodegen-'));
  try {
    const file = join(dir, 'guest.mjs');
    await writeFile(file, script(isolation));
    const { stdout } = await run(process.execPath, [...flags, file], { timeout: 60_000 });
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe.each(['inline', 'worker'] as const)(
  'a kernel under --disallow-code-generation-from-strings (%s)',
  (isolation) => {
    it('runs and traces a guest exactly as without the flag', async () => {
      const refused = await traceIn(isolation, ['--disallow-code-generation-from-strings']);
      const allowed = await traceIn(isolation, []);
      expect(refused).toMatchObject({ codegen: 'refused' });
      expect(allowed).toMatchObject({ codegen: 'allowed' });
      const expected = {
        status: 'returned',
        calls: 5_001,
        actions: ['forge.clock_now:allow:0', 'forge.log:deny:1'],
        writes: 5_000,
        seqs: true,
        dna: 5_001,
      };
      expect({ ...(refused as object), codegen: undefined }).toEqual({ ...expected, codegen: undefined });
      expect({ ...(allowed as object), codegen: undefined }).toEqual({ ...expected, codegen: undefined });
    }, 120_000);
  },
);
