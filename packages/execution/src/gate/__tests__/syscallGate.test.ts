import { describe, expect, it, vi } from 'vitest';
import {
  IdentityContextSchema,
  KernelEventBus,
  ManualClock,
  type Clock,
  type ContainerId,
  type Decision,
  type EnforcementMode,
  type PolicyDecisionPoint,
  type SyscallEnforcerPort,
} from '@forgeone/common';
import { SyscallEnforcer } from '@forgeone/trust';
import { DnaTracker, TraceRecorder } from '@forgeone/observer';
import {
  ForgeErrno,
  GuestExit,
  GuestMemory,
  SyscallGate,
  compileModule,
  type SyscallRateLimit,
  forgeSyscalls,
  runInstance,
  type SyscallDefinition,
} from '../../index';
import { linkWithClosures } from '../hotImport';
import { OWN_AFTER, compiledHotImports } from '../compiledHotImport';

const allowOnly = (...names: string[]): PolicyDecisionPoint => ({
  decide: (req): Decision =>
    names.includes(req.syscall)
      ? { action: 'allow', reasons: [{ policy: 'test', rule: req.syscall, message: 'listed' }] }
      : { action: 'deny', reasons: [{ policy: 'default', message: 'not listed' }] },
});

/** Compiles WAT, wires forge.* through a fresh gate, runs `_start`. */
async function run(
  wat: string,
  pdp: PolicyDecisionPoint | SyscallEnforcerPort,
  mode: EnforcementMode = 'enforce',
  extra: SyscallDefinition[] = [],
) {
  const enforcer = 'enforce' in pdp ? pdp : new SyscallEnforcer({ pdp, mode });
  const clock = new ManualClock(1_700_000_000_000);
  const memory = new GuestMemory();
  const recorder = new TraceRecorder();
  const dna = new DnaTracker('ctr_test');
  const events = new KernelEventBus();
  const decided: string[] = [];
  const quarantined: string[] = [];
  events.on('container.quarantined', (e) => quarantined.push(e.reason));
  events.on('syscall.decided', (e) =>
    decided.push(`${e.request.syscall}:${e.decision.action}:${e.enforced}`),
  );
  const logs: string[] = [];
  const gate = new SyscallGate({
    enforcer,
    context: {
      containerId: 'ctr_test' as ContainerId,
      identity: IdentityContextSchema.parse({ subject: 't' }),
      memory,
    },
    recorder,
    dna,
    clock,
    events,
  });
  const definitions = [
    ...forgeSyscalls({ clock, onLog: (m) => logs.push(m), random: (b) => b.fill(7) }),
    ...extra,
  ];
  const compiled = await compileModule(new TextEncoder().encode(wat), { format: 'wat' });
  const outcome = runInstance({ compiled, imports: gate.imports(definitions), memory });
  return { outcome, logs, trace: recorder.events(), dna: dna.snapshot(), decided, memory, quarantined };
}

const LOG_AND_CLOCK = `(module
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $r (export "r") (mut i32) (i32.const -1))
  (data (i32.const 0) "hi")
  (func (export "_start")
    (drop (call $log (i32.const 0) (i32.const 2)))
    (global.set $r (call $now (i32.const 64)))))`;

describe('SyscallGate', () => {
  it('runs allowed calls, records them with decision and reasons, and learns DNA', async () => {
    const { outcome, logs, trace, dna, decided } = await run(
      LOG_AND_CLOCK,
      allowOnly('forge.log', 'forge.clock_now'),
    );
    expect(outcome.status).toBe('returned');
    expect(logs).toEqual(['hi']);
    expect(trace.map((e) => [e.seq, e.syscall, e.action, e.executed, e.result])).toEqual([
      [1, 'forge.log', 'allow', true, 0],
      [2, 'forge.clock_now', 'allow', true, 0],
    ]);
    expect(trace[0]!.args).toEqual({ len: 2 });
    expect(trace[0]!.reasons[0]).toMatchObject({ policy: 'test', rule: 'forge.log' });
    // The clock write into guest memory is recorded for replay: 1_700_000_000_000 ms in ns, little endian.
    const write = trace[1]!.writes?.[0];
    expect(write?.ptr).toBe(64);
    expect(Buffer.from(write!.bytes, 'base64').readBigUInt64LE()).toBe(1_700_000_000_000n * 1_000_000n);
    expect(dna).toMatchObject({
      totalCalls: 2,
      deniedCalls: 0,
      transitions: { 'forge.log>forge.clock_now': 1 },
    });
    expect(decided).toEqual(['forge.log:allow:false', 'forge.clock_now:allow:false']);
  });

  it('denies in enforce mode: the guest gets DENIED and nothing is executed or written', async () => {
    const { trace, memory, dna } = await run(LOG_AND_CLOCK, allowOnly('forge.log'));
    const clockCall = trace[1]!;
    expect(clockCall).toMatchObject({
      syscall: 'forge.clock_now',
      action: 'deny',
      executed: false,
      result: ForgeErrno.DENIED,
    });
    expect(clockCall.writes).toBeUndefined();
    expect(memory.readU64(64)).toBe(0n);
    expect(dna.deniedCalls).toBe(1);
  });

  it('audit mode decides and records but lets the call run', async () => {
    const { trace, memory, decided } = await run(LOG_AND_CLOCK, allowOnly('forge.log'), 'audit');
    expect(trace[1]).toMatchObject({ action: 'deny', executed: true, result: 0 });
    expect(trace[1]!.reasons[0]?.message).toBe('not listed');
    expect(memory.readU64(64)).not.toBe(0n);
    expect(decided[1]).toBe('forge.clock_now:deny:false');
  });

  it('permissive mode runs everything, still recording what policy said', async () => {
    const { trace } = await run(LOG_AND_CLOCK, allowOnly('forge.log'), 'permissive');
    expect(trace[0]).toMatchObject({ action: 'allow', executed: true });
    expect(trace[1]).toMatchObject({ action: 'deny', executed: true });
    expect(trace[1]!.reasons[0]?.message).toBe('not listed');
  });

  it('stops a guest the enforcer quarantines, after recording the call', async () => {
    const quarantining: SyscallEnforcerPort = {
      enforce: (req) => ({
        decision: { action: 'quarantine', reasons: [{ policy: 'test', message: 'scan detected' }] },
        execute: false,
        mode: 'enforce',
        ...(req.syscall === 'forge.clock_now' ? { quarantine: 'scan detected' } : {}),
      }),
    };
    const { outcome, trace, quarantined } = await run(LOG_AND_CLOCK, quarantining);
    expect(outcome.status).toBe('trapped');
    if (outcome.status === 'trapped') expect(outcome.error.code).toBe('FORGE_CONTAINER_QUARANTINED');
    expect(trace.map((e) => [e.syscall, e.action, e.executed])).toEqual([
      ['forge.log', 'quarantine', false],
      ['forge.clock_now', 'quarantine', false],
    ]);
    expect(quarantined).toEqual(['scan detected']);
  });

  it('turns a hostile pointer into FAULT for the guest, never a host exception', async () => {
    const wat = `(module
      (import "forge" "log" (func $log (param i32 i32) (result i32)))
      (import "forge" "clock_now" (func $now (param i32) (result i32)))
      (import "forge" "random_bytes" (func $rand (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (global (export "a") (mut i32) (i32.const -1))
      (global (export "b") (mut i32) (i32.const -1))
      (global (export "c") (mut i32) (i32.const -1))
      (func (export "_start")
        (global.set 0 (call $log (i32.const 65530) (i32.const 100)))
        (global.set 1 (call $now (i32.const -4)))
        (global.set 2 (call $rand (i32.const 65535) (i32.const 2)))))`;
    const { outcome, trace } = await run(
      wat,
      allowOnly('forge.log', 'forge.clock_now', 'forge.random_bytes'),
    );
    expect(outcome.status).toBe('returned');
    expect(trace.map((e) => [e.syscall, e.result, e.outcome])).toEqual([
      ['forge.log', ForgeErrno.FAULT, 'fault'],
      ['forge.clock_now', ForgeErrno.FAULT, 'fault'],
      ['forge.random_bytes', ForgeErrno.FAULT, 'fault'],
    ]);
  });

  it('rejects bad UTF-8 and oversized requests with errno values', async () => {
    const wat = `(module
      (import "forge" "log" (func $log (param i32 i32) (result i32)))
      (import "forge" "random_bytes" (func $rand (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "\\ff\\fe")
      (func (export "_start")
        (drop (call $log (i32.const 0) (i32.const 2)))
        (drop (call $rand (i32.const 0) (i32.const 1000000)))))`;
    const { trace, logs } = await run(wat, allowOnly('forge.log', 'forge.random_bytes'));
    expect(logs).toEqual([]);
    expect(trace.map((e) => e.result)).toEqual([ForgeErrno.INVALID, ForgeErrno.TOO_LARGE]);
  });

  it('records a guest exit and refuses to let the guest continue after it', async () => {
    const exitCall: SyscallDefinition = {
      module: 'forge',
      name: 'exit',
      syscall: 'forge.exit',
      params: ['i32'],
      results: [],
      decode: ([code]) => ({ code: Number(code) }),
      execute: ({ args: [code] }) => {
        throw new GuestExit(Number(code));
      },
      deniedResult: undefined,
      faultResult: undefined,
    };
    const wat = `(module
      (import "forge" "exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start") (call $exit (i32.const 3)) unreachable))`;
    const { outcome, trace } = await run(wat, allowOnly('forge.exit'), 'enforce', [exitCall]);
    expect(outcome).toEqual({ status: 'exited', exitCode: 3 });
    expect(trace[0]).toMatchObject({ syscall: 'forge.exit', outcome: 'exit', result: 3 });
  });

  it('refuses two definitions for the same import', () => {
    const clock = new ManualClock();
    const gate = new SyscallGate({
      enforcer: new SyscallEnforcer({ pdp: allowOnly() }),
      context: {
        containerId: 'ctr_x' as ContainerId,
        identity: IdentityContextSchema.parse({ subject: 't' }),
        memory: new GuestMemory(),
      },
      recorder: new TraceRecorder(),
      dna: new DnaTracker('ctr_x'),
      clock,
    });
    const defs = forgeSyscalls({ clock, onLog: () => undefined });
    expect(() => gate.imports([...defs, defs[0]!])).toThrow(/two definitions/);
  });
});

describe('SyscallGate: reused decisions', () => {
  const LOOP = (calls: number) => `(module
    (import "forge" "log" (func $log (param i32 i32) (result i32)))
    (import "forge" "clock_now" (func $now (param i32) (result i32)))
    (import "forge" "probe" (func $probe (param i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "hi")
    (func (export "_start") (local $i i32)
      (loop $again
        (drop (call $log (i32.const 0) (i32.const 2)))
        (drop (call $now (i32.const 64)))
        (drop (call $probe (i32.const 0)))
        (i32.store8 (i32.const 0) (i32.add (i32.const 104) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $again (i32.lt_u (local.get $i) (i32.const ${calls}))))))`;
  // A call whose decoded arguments come from guest memory (so they are decoded at call time).
  const probe: SyscallDefinition = {
    module: 'forge',
    name: 'probe',
    syscall: 'forge.probe',
    params: ['i32'],
    results: ['i32'],
    decode: ([ptr], memory) => ({ first: memory.readU8(Number(ptr)) }),
    execute: ({ decoded }) => Number(decoded.first),
    deniedResult: -1,
    faultResult: -2,
  };

  /** An enforcer that allows everything, promises reuse, and counts how often it is asked. */
  function countingEnforcer(reusable: boolean) {
    const asked: string[] = [];
    const enforcer: SyscallEnforcerPort = {
      enforce: (request) => {
        asked.push(request.syscall);
        return {
          decision: { action: 'allow', reasons: [{ policy: 'test', message: 'ok' }] },
          execute: true,
          mode: 'enforce',
          ...(reusable ? { reusableBy: enforcer } : {}),
        };
      },
    };
    return { enforcer, asked };
  }

  it('asks once per syscall when the enforcer promises reuse, and still traces every call exactly', async () => {
    const { enforcer, asked } = countingEnforcer(true);
    const { outcome, trace, dna, logs } = await run(LOOP(3), enforcer, 'enforce', [probe]);
    expect(outcome.status).toBe('returned');
    expect(asked).toEqual(['forge.log', 'forge.clock_now', 'forge.probe']);
    expect(logs).toEqual(['hi', 'hi', 'ii']);
    expect(trace).toHaveLength(9);
    // Lazily decoded (pure) args and args decoded at call time from memory (which the guest changes
    // to 106 after the last call) are both right.
    expect(trace.filter((e) => e.syscall === 'forge.log').map((e) => e.args)).toEqual([
      { len: 2 },
      { len: 2 },
      { len: 2 },
    ]);
    expect(trace.filter((e) => e.syscall === 'forge.probe').map((e) => [e.args, e.result])).toEqual([
      [{ first: 104 }, 104],
      [{ first: 104 }, 104],
      [{ first: 105 }, 105],
    ]);
    expect(trace.filter((e) => e.syscall === 'forge.clock_now').every((e) => e.writes?.[0]?.ptr === 64)).toBe(
      true,
    );
    expect(trace.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(dna).toMatchObject({
      totalCalls: 9,
      syscallCounts: { 'forge.log': 3, 'forge.clock_now': 3, 'forge.probe': 3 },
      transitions: {
        'forge.log>forge.clock_now': 3,
        'forge.clock_now>forge.probe': 3,
        'forge.probe>forge.log': 2,
      },
    });
  });

  it('asks for every call when the enforcer makes no promise', async () => {
    const { enforcer, asked } = countingEnforcer(false);
    await run(LOOP(3), enforcer, 'enforce', [probe]);
    expect(asked).toHaveLength(9);
  });

  it('does not reuse a promise forwarded by a wrapper: it was made by the inner enforcer', async () => {
    const inner = countingEnforcer(true);
    let wrapperAsked = 0;
    const wrapper: SyscallEnforcerPort = {
      enforce: (request) => {
        wrapperAsked += 1;
        return inner.enforcer.enforce(request);
      },
    };
    await run(LOOP(3), wrapper, 'enforce', [probe]);
    expect(wrapperAsked).toBe(9);
  });

  it("trust's allow-list enforcer is asked once per allowed syscall, and every refusal is decided anew", async () => {
    const pdp = allowOnly('forge.log');
    let decided = 0;
    const counting: PolicyDecisionPoint = {
      decidesBySyscallOnly: true,
      decide: (request) => {
        decided += 1;
        return pdp.decide(request);
      },
    };
    const { trace } = await run(LOOP(4), new SyscallEnforcer({ pdp: counting }), 'enforce', [probe]);
    expect(trace.map((e) => e.action)).toEqual(
      Array.from({ length: 4 }, () => ['allow', 'deny', 'deny']).flat(),
    );
    // forge.log once; clock_now and probe (denied) each time.
    expect(decided).toBe(1 + 4 * 2);
  });
});

describe('SyscallGate: fast path, arities and timing', () => {
  const allowAll = (): SyscallEnforcerPort => {
    const enforcer: SyscallEnforcerPort = {
      enforce: () => ({
        decision: { action: 'allow', reasons: [{ policy: 'test', message: 'ok' }] },
        execute: true,
        mode: 'enforce',
        reusableBy: enforcer,
      }),
    };
    return enforcer;
  };

  /** A pure forge-style definition of `arity` i32 params (the last one i64 when `wide`). */
  const probe = (
    name: string,
    arity: number,
    execute: SyscallDefinition['execute'],
    options: { blocking?: boolean; wide?: boolean } = {},
  ): SyscallDefinition => ({
    module: 'forge',
    name,
    syscall: `forge.${name}`,
    params: Array.from({ length: arity }, (_, i) =>
      options.wide === true && i === arity - 1 ? 'i64' : 'i32',
    ),
    results: ['i32'],
    decode: (args) => ({ first: args.length > 0 ? Number(args[0]) : null }),
    pureDecode: true,
    execute,
    deniedResult: -1,
    faultResult: -2,
    ...(options.blocking === true ? { blocking: true } : {}),
  });

  async function gated(
    wat: string,
    definitions: SyscallDefinition[],
    options: {
      durationSampling?: number;
      clock?: ManualClock | Clock;
      rateLimit?: SyscallRateLimit;
      /** As under `node --disallow-code-generation-from-strings`: the Function constructor throws. */
      refuseCodegen?: boolean;
    } = {},
  ) {
    const memory = new GuestMemory();
    const recorder = new TraceRecorder();
    const dna = new DnaTracker('ctr_fast');
    const gate = new SyscallGate({
      enforcer: allowAll(),
      context: {
        containerId: 'ctr_fast' as ContainerId,
        identity: IdentityContextSchema.parse({ subject: 't' }),
        memory,
      },
      recorder,
      dna,
      clock: options.clock ?? new ManualClock(1_700_000_000_000),
      ...(options.durationSampling === undefined ? {} : { durationSampling: options.durationSampling }),
      ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit }),
    });
    const compiled = await compileModule(new TextEncoder().encode(wat), { format: 'wat' });
    // Where code generation is refused the gate links with the closures (chosen at start-up; here
    // for one gate), and the Function constructor throws.
    const restore = options.refuseCodegen === true ? linkWithClosures() : undefined;
    if (options.refuseCodegen === true) {
      vi.stubGlobal('Function', function refused() {
        throw new EvalError('Code generation from strings disallowed for this context');
      });
    }
    let imports: WebAssembly.Imports;
    try {
      imports = gate.imports(definitions);
    } finally {
      restore?.();
      if (options.refuseCodegen === true) vi.unstubAllGlobals();
    }
    const instance = new WebAssembly.Instance(compiled.module, imports);
    memory.bind(instance.exports.memory as WebAssembly.Memory);
    return { instance, recorder, dna };
  }

  /** A guest calling forge.`a`(i) and forge.`b`(8, i) `calls` times each. */
  const twoImportLoop = (a: string, b: string, calls: number) => `(module
    (import "forge" "${a}" (func $a (param i32) (result i32)))
    (import "forge" "${b}" (func $b (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "_start") (local $i i32)
      (loop $again
        (drop (call $a (local.get $i)))
        (drop (call $b (i32.const 8) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $again (i32.lt_u (local.get $i) (i32.const ${calls}))))))`;

  it('hands every arity its params intact, also to a call re-entering the same import', async () => {
    const seen: string[] = [];
    const guest: { instance?: WebAssembly.Instance } = {};
    const sum = (args: readonly (number | bigint)[]) => args.reduce<number>((a, v) => a + Number(v), 0);
    const definitions = [0, 1, 2, 3, 4, 6].map((arity) =>
      probe(`p${arity}`, arity, ({ args }) => {
        seen.push(`p${arity}(${args.join(',')})`);
        return sum(args);
      }),
    );
    // p4 called with first param 1 calls back into the guest, which calls p4 again: the outer call's
    // params must survive the inner one.
    definitions[4] = probe('p4', 4, ({ args }) => {
      seen.push(`p4(${args.join(',')})`);
      if (args[0] === 1) (guest.instance!.exports.inner as () => number)();
      seen.push(`p4 done(${args.join(',')})`);
      return sum(args);
    });
    definitions.push(probe('w3', 3, ({ args }) => (seen.push(`w3(${args.join(',')})`), 0), { wide: true }));
    const params = (n: number, base: number) =>
      Array.from({ length: n }, (_, i) => `(i32.const ${base + i})`).join(' ');
    const wat = `(module
      ${[0, 1, 2, 3, 4, 6]
        .map(
          (n) =>
            `(import "forge" "p${n}" (func $p${n} ${n > 0 ? `(param${' i32'.repeat(n)})` : ''} (result i32)))`,
        )
        .join('\n')}
      (import "forge" "w3" (func $w3 (param i32 i32 i64) (result i32)))
      (memory (export "memory") 1)
      (global $r (export "r") (mut i32) (i32.const 0))
      (func (export "inner") (result i32) (call $p4 ${params(4, 5)}))
      (func (export "_start") (local $i i32)
        (loop $again
          (global.set $r (i32.add (global.get $r) (call $p0)))
          (global.set $r (i32.add (global.get $r) (call $p1 ${params(1, 1)})))
          (global.set $r (i32.add (global.get $r) (call $p2 ${params(2, 1)})))
          (global.set $r (i32.add (global.get $r) (call $p3 ${params(3, 1)})))
          (global.set $r (i32.add (global.get $r) (call $p4 ${params(4, 1)})))
          (global.set $r (i32.add (global.get $r) (call $p6 ${params(6, 1)})))
          (drop (call $w3 (i32.const -1) (i32.const 2147483647) (i64.const -9007199254740993)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $again (i32.lt_u (local.get $i) (i32.const 3))))))`;
    const built = await gated(wat, definitions);
    const instance = (guest.instance = built.instance);
    (instance.exports._start as () => void)();
    const round = [
      'p0()',
      'p1(1)',
      'p2(1,2)',
      'p3(1,2,3)',
      'p4(1,2,3,4)',
      'p4(5,6,7,8)',
      'p4 done(5,6,7,8)',
      'p4 done(1,2,3,4)',
      'p6(1,2,3,4,5,6)',
      'w3(-1,2147483647,-9007199254740993)',
    ];
    expect(seen).toEqual([...round, ...round, ...round]);
    expect((instance.exports.r as WebAssembly.Global).value).toBe(3 * (0 + 1 + 3 + 6 + 10 + 21));
    // The trace has each call's own params, in call order (the inner p4 finishes first).
    const events = built.recorder.events();
    expect(events.slice(0, 9).map((e) => `${e.syscall}(${e.params!.join(',')})`)).toEqual([
      'forge.p0()',
      'forge.p1(1)',
      'forge.p2(1,2)',
      'forge.p3(1,2,3)',
      'forge.p4(5,6,7,8)',
      'forge.p4(1,2,3,4)',
      'forge.p6(1,2,3,4,5,6)',
      'forge.w3(-1,2147483647,-9007199254740993)',
      'forge.p0()',
    ]);
    expect(events[7]!.params![2]).toBe(-9007199254740993n);
  });

  it('records the same trace on the fast path as when every call is timed (but the timing)', async () => {
    const loop = twoImportLoop('a', 'b', 200);
    const traceWith = async (durationSampling: number) => {
      let memory: GuestMemory | undefined;
      const definitions = [
        probe('a', 1, ({ args }) => Number(args[0]) % 7),
        probe('b', 2, ({ args, context }) => {
          memory = context.memory;
          context.memory.writeU32(Number(args[0]), Number(args[1]) * 3);
          return 0;
        }),
      ];
      const { instance, recorder } = await gated(loop, definitions, { durationSampling });
      (instance.exports._start as () => void)();
      expect(memory).toBeDefined();
      return recorder.events();
    };
    const every = await traceWith(1);
    const sampled = await traceWith(32);
    const untimed = (events: typeof every) => events.map(({ durationNs: _d, time: _t, ...rest }) => rest);
    expect(untimed(sampled)).toEqual(untimed(every));
    expect(every.every((e) => e.durationNs >= 0)).toBe(true);
    // One call in 32 is timed; the rest say -1.
    const timed = sampled.filter((e) => e.durationNs >= 0).length;
    expect(timed).toBeGreaterThanOrEqual(Math.floor(400 / 32));
    expect(timed).toBeLessThanOrEqual(Math.ceil(400 / 32) + 1);
    expect(sampled[1]!.writes).toEqual([{ ptr: 8, bytes: Buffer.from([0, 0, 0, 0]).toString('base64') }]);
  });

  it('links with the compiled hot imports where code generation is allowed, else the closures', () => {
    expect(compiledHotImports === undefined).toBe(process.env.FORGEONE_HOST_CODEGEN === 'off');
  });

  it('traces the same where code cannot be generated: the closures generate none', async () => {
    const traceWith = async (a: string, b: string, refuse: boolean) => {
      const clock = new ManualClock(1_700_000_000_000);
      const definitions = [
        probe(a, 1, ({ args }) => {
          clock.advance(1); // wall time moves, and the rate window with it
          return Number(args[0]) % 5;
        }),
        probe(b, 2, ({ args, context }) => {
          context.memory.writeU32(Number(args[0]), Number(args[1]) * 7);
          return 0;
        }),
      ];
      const { instance, recorder, dna } = await gated(twoImportLoop(a, b, CALLS), definitions, {
        clock,
        durationSampling: 16,
        rateLimit: { perSecond: 1e9, burst: 50 },
        refuseCodegen: refuse,
      });
      (instance.exports._start as () => void)();
      const named = (syscall: string) => syscall.replace(a, 'A').replace(b, 'B');
      return {
        events: recorder
          .events()
          .map(({ durationNs: _d, ...rest }) => ({ ...rest, syscall: named(rest.syscall) })),
        calls: dna.snapshot().totalCalls,
      };
    };
    // b's calls are hot (many thousands of them); a, which moves the clock by a millisecond, is
    // timed on every call and never hot.
    const CALLS = 5_000;
    // The closures (the reference path) generate no code: the Function constructor throws, and
    // the guest runs and is traced to the end.
    const refused = await traceWith('nogen_a', 'nogen_b', true);
    // The compiled path gives the same trace; with the Function constructor watched, it compiled
    // the busy slot's own import (b makes more than OWN_AFTER hot calls).
    let compiled = 0;
    const RealFunction = Function;
    vi.stubGlobal(
      'Function',
      new Proxy(RealFunction, {
        construct(target, args: string[]) {
          compiled += 1;
          return Reflect.construct(target, args) as object;
        },
      }),
    );
    let generated: Awaited<ReturnType<typeof traceWith>>;
    try {
      generated = await traceWith('gen_a', 'gen_b', false);
    } finally {
      vi.unstubAllGlobals();
    }
    // (Under FORGEONE_HOST_CODEGEN=off, the execution-closures project, both runs take the closures.)
    expect(compiled > 0).toBe(compiledHotImports !== undefined);
    expect(CALLS).toBeGreaterThan(OWN_AFTER);
    expect(refused.events).toHaveLength(2 * CALLS);
    expect(refused.events).toEqual(generated.events);
    expect(refused.calls).toBe(2 * CALLS);
    expect(generated.calls).toBe(2 * CALLS);
  });

  it('stamps every call with a fresh wall time when the clock has coarseNow, timed or not', async () => {
    const wat = `(module
      (import "forge" "tick" (func $tick (result i32)))
      (memory (export "memory") 1)
      (func (export "_start") (local $i i32)
        (loop $again
          (drop (call $tick))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $again (i32.lt_u (local.get $i) (i32.const 300))))))`;
    const start = 1_700_000_000_000;
    const timesWith = async (clock: ManualClock | Clock) => {
      // Each call moves the wall clock on by 1 ms (and not the monotonic one: the call stays fast).
      const manual = clock instanceof ManualClock ? clock : undefined;
      let wall = start;
      const tick = probe('tick', 0, () => {
        wall += 1;
        manual?.set(wall);
        return 0;
      });
      const { instance, recorder } = await gated(wat, [tick], { clock });
      (instance.exports._start as () => void)();
      return recorder.events().map((e) => e.time);
    };
    const fresh = await timesWith(new ManualClock(start));
    expect(fresh).toEqual(Array.from({ length: 300 }, (_, i) => start + i));
    // Without coarseNow the wall clock is read on timed calls only: the calls between repeat it.
    let wall = start;
    const plain: Clock = { now: () => wall++, monotonicNs: () => 0n };
    const stale = await timesWith(plain);
    expect(new Set(stale).size).toBeLessThan(20);
  });

  it('times every call of a slow or blocking syscall, and samples the fast ones', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const definitions = [
      probe('fast', 0, () => 0),
      // Takes 20 µs of the (manual) monotonic clock each call.
      probe('slow', 0, () => (clock.advance(0.02), 0)),
      probe('sleep', 0, () => 0, { blocking: true }),
    ];
    const wat = `(module
      (import "forge" "fast" (func $fast (result i32)))
      (import "forge" "slow" (func $slow (result i32)))
      (import "forge" "sleep" (func $sleep (result i32)))
      (memory (export "memory") 1)
      (func (export "_start") (local $i i32)
        (loop $again
          (drop (call $fast)) (drop (call $fast)) (drop (call $fast))
          (drop (call $slow))
          (drop (call $fast)) (drop (call $fast))
          (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 10))) (then (drop (call $sleep))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $again (i32.lt_u (local.get $i) (i32.const 100))))))`;
    const { instance, recorder } = await gated(wat, definitions, { clock });
    (instance.exports._start as () => void)();
    const events = recorder.events();
    const timing = (syscall: string) => events.filter((e) => e.syscall === syscall).map((e) => e.durationNs);
    // A syscall's first call is timed; one found slow is timed every time from then on.
    expect(timing('forge.slow')).toEqual(Array.from({ length: 100 }, () => 20_000));
    expect(timing('forge.sleep').every((ns) => ns >= 0)).toBe(true);
    const fast = timing('forge.fast');
    expect(fast).toHaveLength(500);
    expect(fast.filter((ns) => ns >= 0).length).toBeLessThan(500 / 4);
    expect(fast.filter((ns) => ns >= 0).length).toBeGreaterThan(0);
  });
});
