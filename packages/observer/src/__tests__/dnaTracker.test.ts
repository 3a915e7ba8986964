import { describe, expect, it } from 'vitest';
import { ExecutionDnaSchema } from '@forgeone/common';
import { DnaTracker } from '../index';

describe('DnaTracker', () => {
  it('starts empty and valid', () => {
    const dna = new DnaTracker('ctr_x').snapshot();
    expect(ExecutionDnaSchema.parse(dna)).toEqual(dna);
    expect(dna.totalCalls).toBe(0);
  });

  it('counts calls, transitions and refusals', () => {
    const tracker = new DnaTracker('ctr_x');
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
