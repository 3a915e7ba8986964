import { describe, expect, it } from 'vitest';
import { IdentityContextSchema, ManualClock, type ContainerId, isForgeError } from '@forgeone/common';
import { DnaTracker, TraceRecorder } from '@forgeone/observer';
import { AllowListPdp, SyscallEnforcer } from '@forgeone/trust';
import {
  ForgeErrno,
  GuestMemory,
  SyscallGate,
  compileModule,
  hostFunction,
  watToWasm,
  type SyscallDefinition,
} from '../../index';

const CALLS = 3_000;
const loop = `(module
  (import "forge" "add" (func $add (param i32 i64) (result i32)))
  (import "forge" "bump" (func $bump (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (result i32) (local $i i32) (local $sum i32)
    (loop $again
      (local.set $sum (i32.add (local.get $sum)
        (call $add (local.get $i) (i64.extend_i32_u (local.get $i)))))
      (drop (call $bump (i32.const 100)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const ${CALLS}))))
    (local.get $sum)))`;

async function run(definitions: SyscallDefinition[], allow: string[]) {
  const memory = new GuestMemory();
  const recorder = new TraceRecorder({ capacity: 10_000 });
  const gate = new SyscallGate({
    enforcer: new SyscallEnforcer({ pdp: new AllowListPdp(allow), mode: 'enforce' }),
    context: {
      containerId: 'ctr_hf' as ContainerId,
      identity: IdentityContextSchema.parse({ subject: 't' }),
      memory,
    },
    recorder,
    dna: new DnaTracker('ctr_hf'),
    clock: new ManualClock(0),
  });
  const module = (await compileModule(await watToWasm(loop))).module;
  const instance = new WebAssembly.Instance(module, gate.imports(definitions));
  memory.bind(instance.exports.memory as WebAssembly.Memory);
  return { sum: (instance.exports.run as () => number)(), events: recorder.events() };
}

const add = hostFunction({
  name: 'add',
  params: { a: 'i32', b: 'i64' },
  execute: ([a, b]) => (Number(a) + Number(b)) % 7,
});
const bump = hostFunction({
  name: 'bump',
  params: { ptr: 'i32' },
  execute: ([ptr], { memory }) => {
    memory.writeU32(Number(ptr), memory.readU32(Number(ptr)) + 1);
    return ForgeErrno.OK;
  },
});

describe('hostFunction', () => {
  it('is a definition named <module>.<name> whose args are its params by name, decoded lazily', () => {
    expect(add).toMatchObject({
      module: 'forge',
      name: 'add',
      syscall: 'forge.add',
      params: ['i32', 'i64'],
      results: ['i32'],
      pureDecode: true,
      deniedResult: ForgeErrno.DENIED,
      faultResult: ForgeErrno.FAULT,
    });
    expect(add.decode([3, 4n], new GuestMemory())).toEqual({ a: 3, b: 4n });
  });

  it('runs, traces every call with its args by name, and writes through guest memory', async () => {
    const { sum, events } = await run([add, bump], ['forge.add', 'forge.bump']);
    let expected = 0;
    for (let i = 0; i < CALLS; i += 1) expected += (2 * i) % 7;
    expect(sum).toBe(expected);
    expect(events).toHaveLength(2 * CALLS);
    expect(events[2 * 1234]).toMatchObject({
      syscall: 'forge.add',
      args: { a: 1234, b: 1234n },
      result: (2 * 1234) % 7,
    });
    const last = events.at(-1)!;
    expect(last).toMatchObject({ syscall: 'forge.bump', args: { ptr: 100 }, action: 'allow' });
    expect(last.writes).toEqual([{ ptr: 100, bytes: expect.any(String) }]);
  });

  it('is refused by policy like any syscall: the guest gets DENIED and the call is traced', async () => {
    const { events } = await run([add, bump], ['forge.add']);
    const bumps = events.filter((e) => e.syscall === 'forge.bump');
    expect(bumps).toHaveLength(CALLS);
    expect(bumps.every((e) => e.action === 'deny' && e.result === ForgeErrno.DENIED && !e.executed)).toBe(
      true,
    );
  });

  it('refuses a malformed spec with FORGE_INVALID_INPUT', () => {
    const bad = [
      { name: 'has space', execute: () => 0 },
      { name: 'ok', module: '', execute: () => 0 },
      { name: 'ok', params: { 'x-y': 'i32' }, execute: () => 0 },
      { name: 'ok', params: { x: 'i8' }, execute: () => 0 },
      { name: 'ok', result: 'v128', execute: () => 0 },
    ];
    for (const spec of bad) {
      let error: unknown;
      try {
        hostFunction(spec as Parameters<typeof hostFunction>[0]);
      } catch (caught) {
        error = caught;
      }
      expect(isForgeError(error) && error.code).toBe('FORGE_INVALID_INPUT');
    }
  });
});
