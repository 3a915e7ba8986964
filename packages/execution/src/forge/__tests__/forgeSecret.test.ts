import { describe, expect, it } from 'vitest';
import {
  ForgeErrno,
  allSyscallNames,
  type EnforcerSpec,
  type GuestSecrets,
  type Isolation,
} from '../../index';
import { testHosts, wat } from '../../__tests__/support/testHosts';

// The name "db" at 0, "nope" at 8, "bad\0" at 16; values are read to 1024 (cap given per call),
// their length to 96. `sum` adds the bytes read, so a test can tell the guest got the value
// without the guest printing it anywhere.
const GUEST = wat(`(module
  (import "forge" "secret_read" (func $read (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "db")
  (data (i32.const 8) "nope")
  (data (i32.const 16) "bad\\00")
  (func (export "read") (param $at i32) (param $len i32) (param $cap i32) (result i32)
    (call $read (local.get $at) (local.get $len) (i32.const 1024) (local.get $cap) (i32.const 96)))
  (func (export "read_out_of_bounds") (result i32)
    (call $read (i32.const 0) (i32.const 2) (i32.const 65530) (i32.const 64) (i32.const 96)))
  (func (export "len") (result i32) (i32.load (i32.const 96)))
  (func (export "sum") (result i32) (local $i i32) (local $s i32)
    (block $done (loop $add
      (br_if $done (i32.ge_u (local.get $i) (i32.load (i32.const 96))))
      (local.set $s (i32.add (local.get $s) (i32.load8_u (i32.add (i32.const 1024) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $add)))
    (local.get $s)))`);

const CANARY = 'canary-7f3a9c-SECRET-value';
const sum = (text: string) => [...new TextEncoder().encode(text)].reduce((a, b) => a + b, 0);
const i32 = (value: number) => ({ type: 'i32', value }) as const;
const secrets: GuestSecrets = new Map([['db', new TextEncoder().encode(CANARY)]]);
const allowSecret: EnforcerSpec = {
  mode: 'enforce',
  policy: {
    kind: 'document',
    document: {
      apiVersion: 'forgeone.dev/v1',
      kind: 'Policy',
      metadata: { name: 'secrets' },
      spec: {
        entry: 'base',
        nodes: [
          {
            name: 'base',
            rules: [
              { id: 'db', action: 'allow', match: { syscall: 'forge.secret_read', args: { name: 'db' } } },
            ],
          },
        ],
      },
    },
  },
};

const { host } = testHosts();

describe.each(['inline', 'worker'] as Isolation[])('forge.secret_read (%s)', (isolation) => {
  const start = async (spec: EnforcerSpec = allowSecret, given: GuestSecrets | null = secrets) => {
    const h = host(isolation);
    const module = await h.loadModule(GUEST, { format: 'wat' });
    return h.instantiate(module, {
      enforcer: spec,
      recordWrites: true,
      ...(given === null ? {} : { secrets: given }),
    });
  };
  const value = async (instance: Awaited<ReturnType<typeof start>>, entry: string, ...args: number[]) =>
    (await instance.invoke(entry, args.map(i32))).values[0]?.value;

  it('gives the guest a granted secret, and the trace keeps the name, never the value', async () => {
    const instance = await start();
    expect(await value(instance, 'read', 0, 2, 64)).toBe(ForgeErrno.OK);
    expect(await value(instance, 'len')).toBe(CANARY.length);
    expect(await value(instance, 'sum')).toBe(sum(CANARY));
    const trace = instance.trace();
    const call = trace.find((event) => event.syscall === 'forge.secret_read');
    expect(call).toMatchObject({ args: { name: 'db', cap: 64 }, action: 'allow' });
    const text = JSON.stringify(trace);
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain(Buffer.from(CANARY).toString('base64'));
    // The length the call wrote is kept (replay needs it); the value is not.
    expect(call?.writes).toEqual([
      { ptr: 96, bytes: Buffer.from(Uint32Array.of(CANARY.length).buffer).toString('base64') },
    ]);
    // Every base64 write decoded: no piece of the value in the bytes the trace keeps.
    for (const event of trace)
      for (const write of event.writes ?? [])
        expect(Buffer.from(write.bytes, 'base64').toString('latin1')).not.toContain('canary');
    await instance.terminate();
  });

  it('answers TOO_SMALL with the length needed, and NOT_FOUND for a secret the launch was not given', async () => {
    const instance = await start({
      mode: 'enforce',
      policy: { kind: 'allow-list', allow: ['forge.secret_read'] },
    });
    expect(await value(instance, 'read', 0, 2, 4)).toBe(ForgeErrno.TOO_SMALL);
    expect(await value(instance, 'len')).toBe(CANARY.length);
    expect(await value(instance, 'sum')).toBe(0);
    expect(await value(instance, 'read', 8, 4, 64)).toBe(ForgeErrno.NOT_FOUND);
    expect(await value(instance, 'read', 16, 4, 64)).toBe(ForgeErrno.INVALID);
    expect(await value(instance, 'read', 0, 200, 64)).toBe(ForgeErrno.TOO_LARGE);
    expect(await value(instance, 'read_out_of_bounds')).toBe(ForgeErrno.FAULT);
    await instance.terminate();
  });

  it('is decided by the policy on the name: another name is DENIED even when the launch has it', async () => {
    const both: GuestSecrets = new Map([
      ['db', new TextEncoder().encode(CANARY)],
      ['nope', new TextEncoder().encode('other')],
    ]);
    const instance = await start(allowSecret, both);
    expect(await value(instance, 'read', 8, 4, 64)).toBe(ForgeErrno.DENIED);
    expect(await value(instance, 'sum')).toBe(0);
    const denied = instance.trace().find((event) => event.args['name'] === 'nope');
    expect(denied?.action).toBe('deny');
    await instance.terminate();
  });

  it('answers NOT_FOUND when the launch gave no secrets at all', async () => {
    const instance = await start(allowSecret, null);
    expect(await value(instance, 'read', 0, 2, 64)).toBe(ForgeErrno.NOT_FOUND);
    await instance.terminate();
  });
});

describe('forge.secret_read in the syscall catalogue', () => {
  it('is a syscall policies can name', () => {
    expect(allSyscallNames()).toContain('forge.secret_read');
  });
});
