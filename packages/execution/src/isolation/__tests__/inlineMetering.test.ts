import { afterAll, describe, expect, it } from 'vitest';
import { wat } from '../../__tests__/support/testWat';
import { compileModule, WasmHost } from '../../index';

const hosts: WasmHost[] = [];
function host(): WasmHost {
  const h = new WasmHost({ development: true, isolation: 'inline', limits: { timeoutMs: 60_000 } });
  hosts.push(h);
  return h;
}
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close()));
});

/** A straight run of `n` additions on local 0: one big loop body. */
const additions = (n: number) =>
  Array.from({ length: n }, () => '(local.set 0 (i32.add (local.get 0) (i32.const 1)))').join(' ');

/** Guests that never return on their own, each trying another way past the deadline checks. */
const ATTACKS: Record<string, string> = {
  'a tight loop with no calls': '(module (func (export "run") (loop br 0)))',
  'a br_table back-edge': '(module (func (export "run") (loop $l (br_table $l $l (i32.const 1)))))',
  'a loop calling only an internal function': `(module (global $g (mut i32) (i32.const 0))
    (func $bump (global.set $g (i32.add (global.get $g) (i32.const 1))))
    (func (export "run") (loop (call $bump) (br 0))))`,
  'recursion without loops (a call tree that never runs out of stack)': `(module
    (func $tree (param $n i32) (result i32)
      (if (result i32) (i32.lt_u (local.get $n) (i32.const 2)) (then (i32.const 1))
        (else (i32.add (call $tree (i32.sub (local.get $n) (i32.const 1))) (call $tree (i32.sub (local.get $n) (i32.const 2)))))))
    (func (export "run") (drop (call $tree (i32.const 60)))))`,
  'endless tail calls': '(module (func $f (export "run") (return_call $f)))',
  'a huge loop body': `(module (func (export "run") (local i32) (loop ${additions(20_000)} (br 0))))`,
  'a memory.grow loop':
    '(module (memory 1 4) (func (export "run") (loop (drop (memory.grow (i32.const 1))) (br 0))))',
  'a memory.fill loop': `(module (memory 1 1)
    (func (export "run") (loop (memory.fill (i32.const 0) (i32.const 7) (i32.const 65536)) (br 0))))`,
  'a catch_all around the loop, to swallow the stop': `(module
    (func (export "run") (loop (try (do (loop br 0)) (catch_all)) (br 0))))`,
};

describe('deadline metering (inline isolation)', () => {
  it.each(Object.entries(ATTACKS))(
    'stops %s within 2 s of a 200 ms deadline, and the host runs on',
    async (_, text) => {
      const h = host();
      const module = await h.loadModule(wat(text));
      expect(module.deadlineMetered).toBe(true);
      // 'metered' is refused for a module without the checks: this call cannot fall back to V8's watchdog.
      const instance = await h.instantiate(module, { inlineDeadline: 'metered' });
      const started = performance.now();
      const result = await instance.invoke('run', [], { timeoutMs: 200 });
      const took = performance.now() - started;
      expect(result.outcome).toMatchObject({
        status: 'trapped',
        error: { code: 'FORGE_LIMIT_TIMEOUT', details: { max: 200 } },
      });
      expect(took).toBeGreaterThanOrEqual(190);
      expect(took).toBeLessThan(2_200);
      expect(instance.state).toBe('terminated');
      await expect(instance.invoke('run')).rejects.toMatchObject({ code: 'FORGE_INSTANCE_STATE' });
    },
  );

  it('stops a start function that spins, with the start deadline', async () => {
    const h = host();
    const module = await h.loadModule(
      wat('(module (func $spin (loop br 0)) (start $spin) (func (export "run")))'),
    );
    const started = performance.now();
    const instance = await h.instantiate(module, { inlineDeadline: 'metered', startTimeoutMs: 200 });
    expect(performance.now() - started).toBeLessThan(2_200);
    expect(instance.startOutcome).toMatchObject({
      status: 'trapped',
      error: { code: 'FORGE_LIMIT_TIMEOUT', message: /its start function/ },
    });
  });

  it('lets calls that finish in time return their values, call after call, on one instance', async () => {
    const h = host();
    const module = await h.loadModule(
      wat(`(module (func (export "sum") (param $n i32) (result i32) (local $acc i32)
        (block $done (loop $again
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $acc (i32.add (local.get $acc) (local.get $n)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $again)))
        (local.get $acc)))`),
    );
    const instance = await h.instantiate(module);
    for (let i = 0; i < 50; i += 1) {
      const result = await instance.invoke('sum', [{ type: 'i32', value: 100_000 }], { timeoutMs: 5_000 });
      expect(result.values).toEqual([{ type: 'i32', value: ((100_000 * 100_001) / 2) | 0 }]);
    }
    expect(instance.state).toBe('created');
  });

  it("refuses 'metered' for a module compiled without the checks, and stops one with a shared-memory wait by V8's watchdog", async () => {
    const h = host();
    const plain = await compileModule(wat('(module (func (export "run") (loop br 0)))'), {
      deadlineMetering: false,
    });
    expect(plain.deadlineMetered).toBe(false);
    await expect(
      h.instantiate({ ...plain, name: 'plain' }, { inlineDeadline: 'metered' }),
    ).rejects.toMatchObject({
      code: 'FORGE_INVALID_INPUT',
    });
    const waits = await h.loadModule(
      wat(`(module (memory 1 1 shared)
        (func (export "wait") (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0))))
        (func (export "run") (loop br 0)))`),
    );
    expect(waits.deadlineMetered).toBe(false);
    const instance = await h.instantiate(waits);
    const result = await instance.invoke('run', [], { timeoutMs: 200 });
    expect(result.outcome).toMatchObject({ status: 'trapped', error: { code: 'FORGE_LIMIT_TIMEOUT' } });
  });

  it("keeps 'syscalls' meaning what it means: the module's checks never stop the guest", async () => {
    const h = host();
    const module = await h.loadModule(
      wat(`(module (func (export "count") (param $n i32) (result i32)
        (loop $again (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $again (local.get $n)))
        (i32.const 7)))`),
    );
    const instance = await h.instantiate(module, { inlineDeadline: 'syscalls' });
    // Far more than 2^16 checks, past a deadline no check reads.
    const result = await instance.invoke('count', [{ type: 'i32', value: 20_000_000 }], { timeoutMs: 1 });
    expect(result.values).toEqual([{ type: 'i32', value: 7 }]);
  });
});
