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
});
