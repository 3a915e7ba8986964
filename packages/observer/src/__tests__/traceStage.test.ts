import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Decision, SyscallArg } from '@forgeone/common';
import type { TraceEvent } from '../index';
import { DnaCounts } from '../internal/dnaCounts';
import { TraceRing } from '../internal/traceRing';

const allow: Decision = { action: 'allow', reasons: [] };
const deny: Decision = { action: 'deny', reasons: [{ policy: 'test', message: 'no' }] };
const decoder = {
  decodeArgs: (params: readonly (number | bigint)[]): Readonly<Record<string, SyscallArg>> => ({
    n: params.length,
    first: typeof params[0] === 'bigint' ? params[0].toString() : (params[0] ?? null),
  }),
};

/** The syscalls of the property: name and arity. */
const SYSCALLS = [
  ['forge.input_len', 1],
  ['forge.clock_now', 1],
  ['wasi.fd_write', 4],
  ['forge.none', 0],
  ['forge.pair', 2],
] as const;

const write = fc.record({ ptr: fc.nat(52), bytes: fc.uint8Array({ maxLength: 12 }) });
const param = fc.oneof(
  { weight: 9, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }) },
);
/** What a guest's call does, as the gate drives the recorder, the stage and the DNA tracker. */
const op = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('hot' as const),
      syscall: fc.nat(SYSCALLS.length - 1),
      params: fc.array(param, { minLength: 4, maxLength: 4 }),
      result: fc.integer({ min: -5, max: 70_000 }),
      writes: fc.oneof(
        { weight: 6, arbitrary: fc.array(write, { maxLength: 1 }) },
        { weight: 1, arbitrary: fc.array(write, { maxLength: 3 }) },
      ),
      // The recorder is read while the call runs, after this many of its writes (none: not read).
      readAfter: fc.option(fc.nat(3), { nil: undefined, freq: 8 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom('slow' as const, 'thrown' as const),
      syscall: fc.nat(SYSCALLS.length - 1),
      denied: fc.boolean(),
      params: fc.array(param, { minLength: 4, maxLength: 4 }),
      result: fc.integer({ min: -5, max: 70_000 }),
      durationNs: fc.integer({ min: -1, max: 9_000 }),
      writes: fc.array(write, { maxLength: 2 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('stamp' as const), time: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const), dnaFirst: fc.boolean() }) },
);

/** A recorder and DNA tracker, as a gate drives them: with the stage, or without (the reference). */
class Side {
  readonly dna = new DnaCounts('ctr_stage');
  readonly batches: TraceEvent[] = [];
  readonly recorder: TraceRing;
  readonly memory = new Uint8Array(64);
  readonly templates = new Map<number, number>();
  readonly dnaReads: unknown[] = [];
  readonly eventReads: number[] = [];
  constructor(
    readonly staged: boolean,
    capacity: number,
    batchSize: number | undefined,
  ) {
    this.recorder = new TraceRing({
      capacity,
      ...(batchSize === undefined ? {} : { batchSize, onBatch: (events) => this.batches.push(...events) }),
    });
  }

  /** The template of syscall `i` (made as the gate makes it, on first use). */
  template(i: number): number {
    let template = this.templates.get(i);
    if (template === undefined) {
      const [name, arity] = SYSCALLS[i]!;
      template = this.recorder.template(this.recorder.syscallId(name), allow, decoder, arity);
      if (this.staged) this.recorder.stage().teach(template, this.dna, this.dna.slot(name), arity);
      this.templates.set(i, template);
    }
    return template;
  }

  write(ptr: number, bytes: Uint8Array): void {
    const len = Math.min(bytes.length, this.memory.length - ptr);
    this.memory.set(bytes.subarray(0, len), ptr);
    if (!this.staged) {
      this.recorder.captureWrite(ptr, len, this.memory);
      return;
    }
    const stage = this.recorder.stage();
    // A u32 is also handed over by value (GuestMemory.writeU32 does).
    if (len === 4) stage.captureU32(ptr, new DataView(this.memory.buffer).getUint32(ptr, true), this.memory);
    else stage.captureWrite(ptr, len, this.memory);
  }
}

function drive(side: Side, ops: readonly OpValue[]): void {
  const { recorder, dna } = side;
  for (const o of ops) {
    if (o.kind === 'stamp') {
      recorder.stamp(o.time);
      dna.stamp(o.time);
    } else if (o.kind === 'read') {
      // Either may be read first: each must see every call made so far.
      if (o.dnaFirst) side.dnaReads.push(dna.snapshot());
      side.eventReads.push(recorder.events().length);
      if (!o.dnaFirst) side.dnaReads.push(dna.snapshot());
    } else if (o.kind === 'hot') {
      const [name, arity] = SYSCALLS[o.syscall]!;
      const template = side.template(o.syscall);
      o.writes.forEach((w, k) => {
        if (o.readAfter === k) recorder.nextSeq();
        side.write(w.ptr, w.bytes);
      });
      if (o.readAfter !== undefined && o.readAfter >= o.writes.length) void recorder.size;
      const p = o.params.map((v, k) => (k < arity ? v : 0));
      const [a, b, c, d] = p as [number | bigint, number | bigint, number | bigint, number | bigint];
      // The stage learns the DNA of the calls it records (staged or not).
      if (side.staged) recorder.stage().add(template, o.result, arity, a, b, c, d);
      else {
        recorder.recordTemplated(template, p.slice(0, arity), o.result);
        dna.observeSlot(dna.slot(name), false);
      }
    } else {
      // The gate's general path: its writes go straight to the recorder ('thrown': a hot call
      // that threw, whose writes the stage kept, is recorded by the general path).
      const [name, arity] = SYSCALLS[o.syscall]!;
      if (side.staged && o.kind === 'slow') recorder.stage().goDirect();
      for (const w of o.writes) side.write(w.ptr, w.bytes);
      recorder.recordCall(
        recorder.syscallId(name),
        o.denied ? deny : allow,
        !o.denied,
        decoder,
        true,
        o.params.slice(0, arity),
        o.result,
        o.durationNs,
        o.kind === 'thrown' ? 'fault' : undefined,
      );
      dna.observeSlot(dna.slot(name), o.denied);
    }
  }
}
type OpValue = typeof op extends fc.Arbitrary<infer T> ? T : never;

describe('TraceStage', () => {
  it('records, flushes and learns exactly what the recorder and tracker do without it (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }),
        fc.array(op, { maxLength: 700 }),
        (capacity, batchSize, ops) => {
          const reference = new Side(false, capacity, batchSize);
          const staged = new Side(true, capacity, batchSize);
          drive(reference, ops);
          drive(staged, ops);
          expect(staged.dna.snapshot()).toEqual(reference.dna.snapshot());
          expect(staged.dnaReads).toEqual(reference.dnaReads);
          expect(staged.eventReads).toEqual(reference.eventReads);
          expect(staged.recorder.events()).toEqual(reference.recorder.events());
          expect(staged.recorder.size).toBe(reference.recorder.size);
          expect(staged.recorder.dropped).toBe(reference.recorder.dropped);
          expect(staged.recorder.nextSeq()).toBe(reference.recorder.nextSeq());
          staged.recorder.flush();
          reference.recorder.flush();
          // Batch boundaries may differ (the stage commits rows together); their events may not.
          expect(staged.batches).toEqual(reference.batches);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('commits a full area of rows across chunks, and reads them back as calls', () => {
    const recorder = new TraceRing({ capacity: 5_000 });
    const dna = new DnaCounts('ctr_rows');
    const id = recorder.syscallId('forge.input_len');
    const template = recorder.template(id, allow, decoder, 1);
    const stage = recorder.stage();
    stage.teach(template, dna, dna.slot('forge.input_len'), 1);
    const memory = new Uint8Array(16);
    for (let i = 0; i < 3_000; i += 1) {
      new DataView(memory.buffer).setUint32(8, i, true);
      stage.captureWrite(8, 4, memory);
      expect(stage.add(template, 0, 1, i, 0, 0, 0)).toBe(true);
    }
    const events = recorder.events();
    expect(events).toHaveLength(3_000);
    expect(events[2_999]).toMatchObject({
      seq: 3_000,
      syscall: 'forge.input_len',
      params: [2_999],
      durationNs: -1,
      writes: [{ ptr: 8, bytes: Buffer.from([0xb7, 0x0b, 0, 0]).toString('base64') }],
    });
    expect(dna.snapshot()).toMatchObject({ totalCalls: 3_000, syscallCounts: { 'forge.input_len': 3_000 } });
  });
});
