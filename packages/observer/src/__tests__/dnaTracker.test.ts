import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ExecutionDnaSchema } from '@forgeone/common';
import { DnaTracker } from '../index';
import { DnaCounts } from '../internal/dnaCounts';

describe('DnaTracker', () => {
  it('starts empty and valid', () => {
    const dna = new DnaTracker('ctr_x').snapshot();
    expect(ExecutionDnaSchema.parse(dna)).toEqual(dna);
    expect(dna.totalCalls).toBe(0);
  });

  it('counts calls, transitions and refusals', () => {
    const tracker = new DnaCounts('ctr_x');
    tracker.observe('forge.log', false, 10);
    tracker.observe('forge.clock_now', true, 11);
    tracker.observe('forge.log', false, 12);
    tracker.observe('forge.log', false, 13);
    const dna = tracker.snapshot();
    expect(dna.syscallCounts).toEqual({ 'forge.log': 3, 'forge.clock_now': 1 });
    expect(dna.transitions).toEqual({
      'forge.log>forge.clock_now': 1,
      'forge.clock_now>forge.log': 1,
      'forge.log>forge.log': 1,
    });
    expect(dna).toMatchObject({
      totalCalls: 4,
      deniedCalls: 1,
      lastSyscall: 'forge.log',
      firstSeen: 10,
      lastSeen: 13,
    });
    expect(ExecutionDnaSchema.safeParse(dna).success).toBe(true);
  });
});

describe('DnaTracker (property)', () => {
  it('agrees with a plain recount of any call sequence, however many syscalls it uses', () => {
    const name = fc.integer({ min: 0, max: 20 }).map((i) => `ns.call_${i}`);
    fc.assert(
      fc.property(fc.array(fc.tuple(name, fc.boolean()), { maxLength: 200 }), (calls) => {
        const tracker = new DnaCounts('ctr_p');
        calls.forEach(([syscall, denied], i) => tracker.observe(syscall, denied, 1000 + i));
        const counts: Record<string, number> = {};
        const transitions: Record<string, number> = {};
        calls.forEach(([syscall], i) => {
          counts[syscall] = (counts[syscall] ?? 0) + 1;
          const before = calls[i - 1]?.[0];
          if (before !== undefined)
            transitions[`${before}>${syscall}`] = (transitions[`${before}>${syscall}`] ?? 0) + 1;
        });
        const dna = tracker.snapshot();
        if (calls.length === 0) {
          expect(dna.totalCalls).toBe(0);
          return;
        }
        expect(dna.syscallCounts).toEqual(counts);
        expect(dna.transitions).toEqual(transitions);
        expect(dna).toMatchObject({
          totalCalls: calls.length,
          deniedCalls: calls.filter(([, denied]) => denied).length,
          lastSyscall: calls.at(-1)![0],
          firstSeen: 1000,
          lastSeen: 1000 + calls.length - 1,
        });
        expect(ExecutionDnaSchema.safeParse(dna).success).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('counts allowed calls in batches without changing any snapshot, taken at any point (property)', () => {
    const call = fc.record({
      syscall: fc.integer({ min: 0, max: 11 }).map((i) => `ns.call_${i}`),
      denied: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
      // A new time only now and then: allowed calls between stamps are counted in batches.
      newTime: fc.integer({ min: 0, max: 30 }).map((n) => n === 0),
      look: fc.integer({ min: 0, max: 400 }).map((n) => n === 0),
    });
    fc.assert(
      fc.property(fc.array(call, { maxLength: 1200, size: 'max' }), fc.boolean(), (calls, quiet) => {
        const tracker = new DnaCounts('ctr_b');
        // A plain recount, one call at a time.
        const counts: Record<string, number> = {};
        const transitions: Record<string, number> = {};
        let previous: string | undefined;
        let deniedCalls = 0;
        let firstSeen = 0;
        let lastSeen = 0;
        const expected = () => ({
          containerId: 'ctr_b',
          syscallCounts: { ...counts },
          transitions: { ...transitions },
          totalCalls: Object.values(counts).reduce((a, b) => a + b, 0),
          deniedCalls,
          lastSyscall: previous ?? null,
          firstSeen,
          lastSeen,
        });
        let time = 5;
        tracker.stamp(time);
        // Quiet runs: long stretches of allowed calls at one time (batches fill up).
        calls.forEach(({ syscall, denied: refused, newTime, look }, i) => {
          const denied = refused && !quiet;
          if (newTime && !quiet) tracker.stamp((time += 1));
          tracker.observeSlot(tracker.slot(syscall), denied);
          counts[syscall] = (counts[syscall] ?? 0) + 1;
          if (previous !== undefined)
            transitions[`${previous}>${syscall}`] = (transitions[`${previous}>${syscall}`] ?? 0) + 1;
          previous = syscall;
          if (denied) deniedCalls += 1;
          if (i === 0) firstSeen = time;
          lastSeen = time;
          if (look) expect(tracker.snapshot()).toEqual(expected());
        });
        if (calls.length > 0) expect(tracker.snapshot()).toEqual(expected());
      }),
      { numRuns: 100 },
    );
  });
});

describe('DnaTracker.restore (a snapshot restored)', () => {
  it('goes on from a captured profile as the original tracker goes on (property)', () => {
    const call = fc.record({
      name: fc.integer({ min: 0, max: 12 }).map((i) => `ns.c${i}`),
      denied: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(call, { maxLength: 40 }), fc.array(call, { maxLength: 40 }), (before, after) => {
        const original = new DnaCounts('ctr_r');
        before.forEach((c, i) => original.observe(c.name, c.denied, 100 + i));
        const restored = new DnaCounts('ctr_r');
        restored.load(original.snapshot());
        expect(restored.snapshot()).toEqual(original.snapshot());
        after.forEach((c, i) => {
          original.observe(c.name, c.denied, 200 + i);
          restored.observe(c.name, c.denied, 200 + i);
        });
        expect(restored.snapshot()).toEqual(original.snapshot());
      }),
    );
  });

  it('refuses a tracker that has counted already', () => {
    const tracker = new DnaTracker('ctr_r');
    const counts = new DnaCounts('ctr_r');
    counts.observe('forge.log', false, 1);
    expect(() => counts.load(tracker.snapshot())).toThrow(RangeError);
  });
});
