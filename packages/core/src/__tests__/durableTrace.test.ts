import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '@forgeone/common';
import { TraceStore, type TraceEvent } from '@forgeone/observer';
import type { Runtime } from '../index';
import {
  COMMAND,
  ENDLESS,
  EXIT3,
  SERVICE,
  TRAP,
  allow,
  containerRuntime,
  endlessLimits,
} from './support/containerGuests';

/** A command whose `_start` makes 5,000 forge.clock_now calls, each writing 8 bytes. */
const MANY_CALLS = new TextEncoder().encode(`(module
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $k i32)
    (local.set $k (i32.const 5000))
    (loop $again
      (drop (call $now (i32.const 8)))
      (local.set $k (i32.sub (local.get $k) (i32.const 1)))
      (br_if $again (local.get $k)))))`);

const opened: Runtime[] = [];
function open(extra: Parameters<typeof containerRuntime>[0] = {}) {
  const store = new MemoryStore();
  const made = containerRuntime({ store, ...extra });
  opened.push(made.runtime);
  return { ...made, store, traces: new TraceStore(store) };
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((runtime) => runtime.close()));
});

async function stored(traces: TraceStore, id: string): Promise<TraceEvent[]> {
  const out: TraceEvent[] = [];
  for await (const event of traces.query({ containerId: id })) out.push(event);
  return out;
}

describe.each(['inline', 'worker'] as const)('durable traces of a runtime with a store (%s)', (isolation) => {
  it('runModule keeps every call of the run with how it ended, and says where in its report', async () => {
    const { runtime, traces } = open();
    const report = await runtime.runModule({ source: EXIT3, policy: allow, isolation });
    expect(report.storedTrace).toEqual({
      containerId: report.containerId,
      log: `trace/${report.containerId}`,
      acknowledgedSeq: report.trace.length,
      trimmed: 0,
      lost: 0,
    });
    expect(await stored(traces, report.containerId)).toEqual(
      report.trace.map((e) => expect.objectContaining({ seq: e.seq, syscall: e.syscall, action: e.action })),
    );
    const info = await traces.info(report.containerId);
    expect(info.end).toEqual({ status: 'exited', exitCode: 3 });
    expect(info.header).toMatchObject({ module: report.moduleSha256, entry: '_start' });
  });

  it('keeps a long run event for event as its report has it (batches handed over unbuilt, built when written)', async () => {
    const { runtime, traces } = open();
    // 5,000 calls: several batches, each call with a memory write, most of them on the gate's
    // reused-decision path; the report keeps all of them (its ring holds 65,536).
    const report = await runtime.runModule({ source: MANY_CALLS, policy: allow, isolation });
    expect(report.trace.length).toBe(5000);
    expect(report.storedTrace).toMatchObject({ acknowledgedSeq: 5000, lost: 0 });
    expect(await stored(traces, report.containerId)).toEqual(report.trace);
  });

  it('keeps a trapped run with its code; durableTrace: false keeps none', async () => {
    const { runtime, traces } = open();
    const trapped = await runtime.runModule({ source: TRAP, policy: allow, isolation });
    expect((await traces.info(trapped.containerId)).end).toMatchObject({
      status: 'trapped',
      code: expect.stringMatching(/^FORGE_/),
    });
    const off = await runtime.runModule({ source: COMMAND, policy: allow, isolation, durableTrace: false });
    expect(off.storedTrace).toBeUndefined();
    await expect(traces.info(off.containerId)).rejects.toMatchObject({ code: 'FORGE_TRACE_STORE_NOT_FOUND' });
  });

  it('a container keeps its trace while it serves calls, and closes it when it is stopped', async () => {
    const { runtime, traces } = open();
    const id = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation });
    await runtime.invoke(id, 'count');
    expect((await traces.info(id)).end).toBeNull();
    await runtime.stop(id);
    const info = await traces.info(id);
    expect(info.end).toEqual({ status: 'returned', exitCode: null });
    expect(info.acknowledgedSeq).toBe(info.stored.events);
  });
});

// (Inline, an endless command holds the thread until its deadline: this one is the worker's.)
describe('durable traces of an endless worker command', () => {
  it('an endless command stopped at shutdown has every call it made kept, in order', async () => {
    const { runtime, traces } = open();
    const id = await runtime.launchContainer({
      source: ENDLESS,
      policy: allow,
      isolation: 'worker',
      limits: endlessLimits,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await runtime.close();
    const info = await traces.info(id);
    expect(info.end).not.toBeNull();
    expect(info.acknowledgedSeq).toBeGreaterThan(0);
    const kept = await stored(traces, id);
    const lost = info.lost?.events ?? 0;
    expect(kept.length + lost).toBe(info.acknowledgedSeq);
    expect(kept.map((e) => e.seq)).toEqual([...kept.map((e) => e.seq)].sort((a, b) => a - b));
  });
});

describe('durable trace options', () => {
  it('refuses durableTrace options on a kernel without a store, and honours a kernel-wide false', async () => {
    const { runtime } = containerRuntime();
    opened.push(runtime);
    await expect(
      runtime.runModule({ source: COMMAND, policy: allow, durableTrace: { retention: { maxEvents: 10 } } }),
    ).rejects.toMatchObject({ code: 'FORGE_INVALID_INPUT' });
    const { runtime: off, traces } = open({ durableTraces: false });
    const report = await off.runModule({ source: COMMAND, policy: allow });
    expect(report.storedTrace).toBeUndefined();
    expect(await traces.list()).toEqual([]);
  });

  it('a container takes its own durableTrace: false keeps none, retention is honoured, options need a store', async () => {
    const { runtime, traces } = open();
    const none = await runtime.launchContainer({
      source: SERVICE,
      policy: allow,
      isolation: 'inline',
      durableTrace: false,
    });
    const bounded = await runtime.launchContainer({
      source: SERVICE,
      policy: allow,
      isolation: 'inline',
      durableTrace: { retention: { maxEvents: 100 } },
    });
    await runtime.invoke(none, 'spin', [{ type: 'i32', value: 10 }]);
    await runtime.invoke(bounded, 'spin', [{ type: 'i32', value: 3000 }]);
    await runtime.stop(bounded);
    await expect(traces.info(none)).rejects.toMatchObject({ code: 'FORGE_TRACE_STORE_NOT_FOUND' });
    const info = await traces.info(bounded);
    expect(info.retention.maxEvents).toBe(100);
    expect(info.stored.events).toBeLessThanOrEqual(100);
    expect(info.trimmed?.events).toBe(3000 - info.stored.events);
    const { runtime: storeless } = containerRuntime();
    opened.push(storeless);
    const before = (await storeless.list()).length;
    await expect(
      storeless.launchContainer({
        source: SERVICE,
        policy: allow,
        durableTrace: { retention: { maxEvents: 10 } },
      }),
    ).rejects.toMatchObject({ code: 'FORGE_INVALID_INPUT', details: { field: 'durableTrace' } });
    // Refused before a container was made.
    expect((await storeless.list()).length).toBe(before);
  });
});
