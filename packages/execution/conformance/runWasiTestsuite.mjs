#!/usr/bin/env node
// Runs the official WebAssembly/wasi-testsuite (preview1) through ForgeOne's WASI implementation.
//
//   node packages/execution/conformance/runWasiTestsuite.mjs <testsuite-checkout> [--filter <text>] [--timeout <ms>]
//
// The checkout is the `prod/testsuite-base` branch (prebuilt binaries). Every
// tests/{rust,c,assemblyscript}/testsuite/wasm32-wasip1/*.wasm runs in its own worker thread with the
// args, env and exit code, stdout and stderr expectations of its `.json`; a `root` (or `dirs`) is
// preopened read-write from a temporary copy, so the checkout is never changed.
// Each test runs through the syscall gate (enforce mode, every call allowed and traced) as a container would.
// It imports the built `@forgeone/execution` (run `pnpm run build` first).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const LANGUAGES = ['rust', 'c', 'assemblyscript'];
/** The build under test; FORGEONE_EXECUTION_MODULE points elsewhere (e.g. a development bundle). */
const EXECUTION_MODULE = process.env.FORGEONE_EXECUTION_MODULE ?? '@forgeone/execution';
const SUITE_DIR = 'testsuite/wasm32-wasip1';

async function main(argv) {
  const options = { checkout: undefined, filter: undefined, timeoutMs: 30_000 };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--filter') options.filter = argv[++i];
    else if (argv[i] === '--timeout') options.timeoutMs = Number(argv[++i]);
    else options.checkout ??= argv[i];
  }
  if (options.checkout === undefined) {
    console.error(
      'usage: runWasiTestsuite.mjs <wasi-testsuite checkout (prod/testsuite-base)> [--filter <text>] [--timeout <ms>]',
    );
    process.exit(2);
  }
  const execution = await import(EXECUTION_MODULE);
  const missing = ['createWasiPreview1', 'GuestMemory', 'SyscallGate', 'compileModule', 'runInstance'].filter(
    (name) => typeof execution[name] !== 'function',
  );
  if (missing.length > 0) {
    console.error(`${EXECUTION_MODULE} does not export ${missing.join(', ')}: run \`pnpm run build\` first`);
    process.exit(2);
  }
  let passed = 0;
  let failed = 0;
  const failures = [];
  const perLanguage = [];
  for (const language of LANGUAGES) {
    const dir = path.join(options.checkout, 'tests', language, SUITE_DIR);
    if (!fs.existsSync(dir)) {
      console.error(`missing ${dir}: is this a prod/testsuite-base checkout?`);
      process.exit(2);
    }
    const tests = fs
      .readdirSync(dir)
      .filter((name) => name.endsWith('.wasm'))
      .filter((name) => options.filter === undefined || `${language}/${name}`.includes(options.filter))
      .sort();
    let languagePassed = 0;
    for (const name of tests) {
      const result = await inWorker({ dir, name }, options.timeoutMs);
      if (result.ok) {
        languagePassed += 1;
      } else {
        failures.push(`${language}/${name.replace(/\.wasm$/, '')}: ${result.reason}`);
      }
    }
    passed += languagePassed;
    failed += tests.length - languagePassed;
    perLanguage.push(`${language} ${languagePassed}/${tests.length}`);
  }
  console.log(`${passed} passed, ${failed} failed (${perLanguage.join(', ')})`);
  for (const failure of failures) console.log(`FAIL ${failure}`);
  process.exitCode = failed === 0 ? 0 : 1;
}

function inWorker(data, timeoutMs) {
  return new Promise((resolve) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: data });
    const timer = setTimeout(() => {
      void worker.terminate();
      resolve({ ok: false, reason: `timed out after ${timeoutMs} ms` });
    }, timeoutMs);
    worker.once('message', (result) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(result);
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: `runner error: ${error.message}` });
    });
  });
}

/** The spec of one test in the legacy form (`args`, `env`, `root`/`dirs`, `exit_code`, `stdout`, `stderr`). */
function specOf(dir, name) {
  const file = path.join(dir, name.replace(/\.wasm$/, '.json'));
  if (!fs.existsSync(file)) return {};
  const spec = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (spec.operations !== undefined)
    throw new Error('operation-based specs are not supported by this runner');
  return spec;
}

/**
 * Every call is allowed (enforce mode): the suite measures WASI behaviour; the gate still asks,
 * records and learns for every call, as for any container.
 */
const allowAll = {
  enforce: () => ({
    decision: { action: 'allow', reasons: [{ policy: 'wasi-testsuite', message: 'allow all' }] },
    execute: true,
    mode: 'enforce',
  }),
};

async function runOne({ dir, name }) {
  const execution = await import(EXECUTION_MODULE);
  const { createWasiPreview1, GuestMemory, SyscallGate, compileModule, runInstance } = execution;
  const { TraceRecorder, DnaTracker } = await import('@forgeone/observer');
  const { systemClock } = await import('@forgeone/common');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'forgeone-wasi-testsuite-'));
  let wasi;
  try {
    const spec = specOf(dir, name);
    const preopens = [];
    const copy = (relative, guestPath) => {
      const hostPath = path.join(scratch, String(preopens.length));
      fs.cpSync(path.join(dir, relative), hostPath, { recursive: true, verbatimSymlinks: true });
      preopens.push({ guestPath, kind: 'host', hostPath, readOnly: false });
    };
    if (typeof spec.root === 'string') copy(spec.root, '/');
    for (const relative of spec.dirs ?? []) copy(relative, relative);
    wasi = createWasiPreview1({ args: [name, ...(spec.args ?? [])], env: spec.env ?? {}, preopens });
    const memory = new GuestMemory();
    const containerId = 'ctr_wasi_testsuite';
    const gate = new SyscallGate({
      enforcer: allowAll,
      context: {
        containerId,
        identity: {
          subject: 'wasi-testsuite',
          tenant: 'default',
          roles: [],
          attributes: {},
          assurance: 'none',
        },
        memory,
      },
      recorder: new TraceRecorder({ capacity: 4096 }),
      dna: new DnaTracker(containerId),
      clock: systemClock,
    });
    const compiled = await compileModule(fs.readFileSync(path.join(dir, name)), { format: 'wasm', name });
    const outcome = runInstance({ compiled, imports: gate.imports(wasi.definitions), memory });
    const exitCode = outcome.exitCode ?? 134;
    const trap = outcome.status === 'trapped' ? outcome.error : undefined;
    const stdout = new TextDecoder().decode(wasi.stdout());
    const stderr = new TextDecoder().decode(wasi.stderr());
    const expectedExit = spec.exit_code ?? 0;
    const tail = (text) => JSON.stringify(text.trim().split('\n').slice(-2).join(' | ').slice(-300));
    if (exitCode !== expectedExit) {
      const why = trap === undefined ? '' : ` (${trap.code}: ${trap.message})`;
      return {
        ok: false,
        reason: `exit code ${exitCode}, expected ${expectedExit}${why}; stderr ${tail(stderr)}`,
      };
    }
    // Like the reference runner, expected output is compared with the start of what was written.
    if (spec.stdout !== undefined && !stdout.startsWith(spec.stdout)) {
      return { ok: false, reason: `stdout ${tail(stdout)}, expected ${JSON.stringify(spec.stdout)}` };
    }
    if (spec.stderr !== undefined && !stderr.startsWith(spec.stderr)) {
      return { ok: false, reason: `stderr ${tail(stderr)}, expected ${JSON.stringify(spec.stderr)}` };
    }
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `could not run: ${error?.message ?? String(error)}` };
  } finally {
    wasi?.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

// Last, so every declaration above is initialised: the same file is the runner and each test's worker.
if (isMainThread) {
  await main(process.argv.slice(2));
} else {
  parentPort.postMessage(await runOne(workerData));
}
