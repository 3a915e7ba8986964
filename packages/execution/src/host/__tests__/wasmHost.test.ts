import { describe, expect, it } from 'vitest';
import { ManualClock } from '@forgeone/common';
import { watToWasm } from '../../index';
import { allow, testHosts, wat } from '../../__tests__/support/testHosts';

const ADD = wat(`(module
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 1024))
  (func (export "forge_alloc") (param $len i32) (result i32)
    (local $p i32) (local.set $p (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $len))) (local.get $p))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "add64") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
  (func (export "mulf") (param f64 f32) (result f64) (f64.mul (local.get 0) (f64.promote_f32 (local.get 1))))
  ;; (ptr, len) -> the same bytes, upper-cased ASCII, as i64 (ptr << 32 | len)
  (func (export "upper") (param $p i32) (param $n i32) (result i64)
    (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (if (i32.and (i32.ge_u (i32.load8_u (i32.add (local.get $p) (local.get $i))) (i32.const 97))
                   (i32.le_u (i32.load8_u (i32.add (local.get $p) (local.get $i))) (i32.const 122)))
        (then (i32.store8 (i32.add (local.get $p) (local.get $i))
          (i32.sub (i32.load8_u (i32.add (local.get $p) (local.get $i))) (i32.const 32)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $n))))
  (func (export "spin") (loop br 0)))`);

const { hostWith: host } = testHosts();

describe.each(['inline', 'worker'] as const)('WasmHost (%s isolation)', (isolation) => {
  it('invokes exports with i32, i64, f32, f64 and bytes/strings through forge_alloc', async () => {
    const h = host({ isolation });
    const module = await h.loadModule(ADD, { name: 'add.wat' });
    const instance = await h.instantiate(module);
    expect(instance.state).toBe('created');
    expect(
      (
        await instance.invoke('add', [
          { type: 'i32', value: 2 },
          { type: 'i32', value: 40 },
        ])
      ).values,
    ).toEqual([{ type: 'i32', value: 42 }]);
    expect(
      (
        await instance.invoke('add64', [
          { type: 'i64', value: 2n ** 40n },
          { type: 'i64', value: 1n },
        ])
      ).values,
    ).toEqual([{ type: 'i64', value: 2n ** 40n + 1n }]);
    expect(
      (
        await instance.invoke('mulf', [
          { type: 'f64', value: 1.5 },
          { type: 'f32', value: 2 },
        ])
      ).values,
    ).toEqual([{ type: 'f64', value: 3 }]);
    const upper = await instance.invoke('upper', [{ type: 'string', value: 'hello, wasm' }], {
      results: 'string',
    });
    expect(upper.values).toEqual([{ type: 'string', value: 'HELLO, WASM' }]);
    expect(instance.state).toBe('created');
    await instance.terminate();
    expect(instance.state).toBe('terminated');
    await expect(instance.invoke('add', [])).rejects.toMatchObject({ code: 'FORGE_INSTANCE_STATE' });
  });

  it('refuses arguments that do not match the signature, naming it', async () => {
    const h = host({ isolation });
    const instance = await h.instantiate(await h.loadModule(ADD));
    await expect(instance.invoke('add', [{ type: 'i64', value: 1n }])).rejects.toMatchObject({
      code: 'FORGE_INVOKE_ARGS',
      message: expect.stringContaining('takes (i32, i32)'),
    });
    // The instance is still usable.
    expect(
      (
        await instance.invoke('add', [
          { type: 'i32', value: 1 },
          { type: 'i32', value: 1 },
        ])
      ).values[0],
    ).toEqual({
      type: 'i32',
      value: 2,
    });
    await instance.terminate();
  });
});

describe('WasmHost loading', () => {
  it('runs nothing unverified unless development mode was asked for', async () => {
    const h = host({ isolation: 'inline', development: false });
    await expect(h.loadModule(ADD)).rejects.toMatchObject({ code: 'FORGE_WASM_UNVERIFIED' });
    await expect(h.loadPackage(new Uint8Array(10))).rejects.toMatchObject({ code: 'FORGE_WASM_UNVERIFIED' });
  });

  it('compiles a module once (cached by SHA-256) and reports its hash', async () => {
    const h = host({ isolation: 'inline' });
    const a = await h.loadModule(ADD);
    const b = await h.loadModule(ADD);
    expect(a.module).toBe(b.module);
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    const binary = await watToWasm(ADD);
    expect((await h.loadModule(binary)).sha256).toBe(a.sha256);
  });

  it('refuses imports from unknown namespaces and non-function imports', async () => {
    const h = host({ isolation: 'inline' });
    await expect(h.loadModule(wat('(module (import "env" "f" (func)))'))).rejects.toMatchObject({
      code: 'FORGE_WASM_IMPORT_UNKNOWN',
      message: expect.stringContaining("'env.f'"),
    });
    await expect(h.loadModule(wat('(module (import "forge" "mem" (memory 1)))'))).rejects.toMatchObject({
      code: 'FORGE_WASM_IMPORT_UNKNOWN',
    });
  });

  it('runs a guest inline with a manual clock, deterministically', async () => {
    const clock = new ManualClock(5_000);
    const h = host({ isolation: 'inline', clock });
    const module = await h.loadModule(
      wat(`(module (import "forge" "clock_now" (func $now (param i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "now") (result i64) (drop (call $now (i32.const 8))) (i64.load (i32.const 8))))`),
    );
    const run = await h.run(module, { entry: 'now', enforcer: allow('forge.clock_now') });
    expect(run.values).toEqual([{ type: 'i64', value: 5_000_000_000n }]);
    expect(run.instance.trace().map((e) => [e.syscall, e.action])).toEqual([['forge.clock_now', 'allow']]);
  });
});
