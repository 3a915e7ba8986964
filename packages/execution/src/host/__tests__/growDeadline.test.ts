import { afterAll, describe, expect, it } from 'vitest';
import { WasmHost } from '../../index';

const wat = (text: string) => new TextEncoder().encode(text);
const hosts: WasmHost[] = [];
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close()));
});

/** Grows memory forever, one page at a time (issue 12: the deadline was not kept). */
const GROW_LOOP = wat(`(module (memory 1 4096)
  (func (export "_start") (loop $l (drop (memory.grow (i32.const 1))) (br $l))))`);
const GROW_LOOP_AT_START = wat(`(module (memory 1 4096)
  (func $grow (loop $l (drop (memory.grow (i32.const 1))) (br $l))) (start $grow)
  (func (export "_start")))`);
const TIMEOUT_MS = 1500;

describe.each(['worker', 'inline'] as const)('a guest growing memory in a loop (%s)', (isolation) => {
  it.each([
    ['its entry point', GROW_LOOP],
    ['its start function', GROW_LOOP_AT_START],
  ])('is stopped at its deadline in %s, not when its memory is full', async (_, module) => {
    const h = new WasmHost({
      development: true,
      isolation,
      limits: { maxMemoryPages: 4096, timeoutMs: TIMEOUT_MS },
    });
    hosts.push(h);
    const loaded = await h.loadModule(module);
    const started = performance.now();
    const run = await h.run(loaded);
    const elapsed = performance.now() - started;
    expect(run.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_TIMEOUT' } });
    // Before memory.grow went through the host, V8 ran on until the memory was full: 8 s and more.
    expect(elapsed).toBeLessThan(5000);
  });
});
