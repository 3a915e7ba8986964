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

// The compiled hot imports (gate/compiledHotImport.ts) against the closures they must equal (the
// reference): a guest mixing calls of different arities, an i64 param, writes, denied calls and
// an exit, for more calls than a slot makes before it gets its own compiled import, traced with
// and without code generation: every event the same but for its times.
const mixedScript = `
import { WasmHost, watToWasm } from ${JSON.stringify(dist)};
const WAT = \`(module
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $time (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "forge" "random_bytes" (func $random (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $i i32)
    (loop $again
      (drop (call $now (i32.and (i32.mul (local.get $i) (i32.const 8)) (i32.const 1023))))
      (drop (call $time (i32.const 1) (i64.extend_i32_u (local.get $i)) (i32.const 2048)))
      (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 997)))
        (then (drop (call $log (i32.const 0) (i32.const 4)))))
      (drop (call $random (i32.add (i32.const 3000) (local.get $i)) (i32.rem_u (local.get $i) (i32.const 9))))
      (drop (call $time (i32.const 99) (i64.const 0) (i32.const 4096)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 6000))))
    (call $exit (i32.const 3))))\`;
const host = new WasmHost({ development: true, isolation: 'inline', limits: { timeoutMs: 60000 } });
try {
  const module = await host.loadModule(await watToWasm(WAT));
  const run = await host.run(module, {
    enforcer: {
      mode: 'enforce',
      policy: { kind: 'allow-list', allow: ['forge.clock_now', 'forge.random_bytes', 'wasi.clock_time_get', 'wasi.proc_exit'] },
    },
    traceCapacity: 40000,
  });
  const events = run.instance.trace();
  const digest = events.map((e) => [e.seq, e.syscall, e.action, String(e.result), e.outcome ?? '',
    JSON.stringify([e.args, e.params ?? null, e.executed, e.reasons],
      (k, v) => (typeof v === 'bigint' ? v.toString() : v)),
    (e.writes ?? []).map((w) => w.ptr + ':' + w.bytes.length).join(',')].join('|'));
  let codegen = 'allowed';
  try { new Function('return 1'); } catch { codegen = 'refused'; }
  console.log(JSON.stringify({ codegen, status: run.outcome.status, calls: events.length,
    dna: run.instance.dna().totalCalls, digest }));
} finally {
  await host.close();
}
`;

async function mixedTrace(flags: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'forge-nocodegen-'));
  try {
    const file = join(dir, 'mixed.mjs');
    await writeFile(file, mixedScript);
    const { stdout } = await run(process.execPath, [...flags, file], {
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, ...env },
    });
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as {
      codegen: string;
      status: string;
      calls: number;
      dna: number;
      digest: string[];
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('the compiled hot imports and the closures (the reference)', () => {
  it('trace a mixed guest identically, event for event', async () => {
    const [closures, optedOut, compiled] = await Promise.all([
      mixedTrace(['--disallow-code-generation-from-strings']),
      mixedTrace([], { FORGEONE_HOST_CODEGEN: 'off' }),
      mixedTrace([]),
    ]);
    expect(closures.codegen).toBe('refused');
    expect(compiled.codegen).toBe('allowed');
    // 6,000 rounds of four calls, a denied log every 997th, and the exit.
    expect(compiled.calls).toBe(6_000 * 4 + 7 + 1);
    expect(compiled.status).toBe('exited');
    expect(compiled.dna).toBe(compiled.calls);
    expect(compiled.digest.filter((line) => line.includes('forge.log|deny'))).toHaveLength(7);
    expect(compiled.digest.at(-1)).toContain('wasi.proc_exit|allow|3|exit');
    expect(closures.digest).toEqual(compiled.digest);
    expect(optedOut.digest).toEqual(compiled.digest);
    expect({ ...closures, digest: 0, codegen: 0 }).toEqual({ ...compiled, digest: 0, codegen: 0 });
  }, 120_000);
});
