import { describe, expect, it } from 'vitest';
import { ExecutionDnaSchema, emptyExecutionDna } from '../index';

describe('ExecutionDnaSchema', () => {
  it('accepts an empty profile unchanged', () => {
    const empty = emptyExecutionDna('ctr_1');
    expect(ExecutionDnaSchema.parse(empty)).toEqual(empty);
    expect(empty).toMatchObject({ containerId: 'ctr_1', totalCalls: 0, deniedCalls: 0, lastSyscall: null });
  });

  it('accepts a populated profile', () => {
    const profile = {
      ...emptyExecutionDna('ctr_2'),
      syscallCounts: { 'forge.log': 3 },
      transitions: { 'forge.log>forge.log': 2 },
      totalCalls: 3,
      lastSyscall: 'forge.log',
      firstSeen: 1,
      lastSeen: 2,
    };
    expect(ExecutionDnaSchema.safeParse(profile).success).toBe(true);
  });

  it('rejects unknown fields, negative or fractional counts', () => {
    const base = emptyExecutionDna('ctr_3');
    for (const bad of [
      { ...base, extra: 1 },
      { ...base, totalCalls: -1 },
      { ...base, deniedCalls: 0.5 },
      { ...base, syscallCounts: { 'forge.log': -2 } },
      { ...base, containerId: undefined },
    ]) {
      expect(ExecutionDnaSchema.safeParse(bad).success).toBe(false);
    }
  });

  it('hands out a fresh profile every time', () => {
    const a = emptyExecutionDna('ctr_4');
    a.syscallCounts['forge.log'] = 1;
    expect(emptyExecutionDna('ctr_4').syscallCounts).toEqual({});
  });
});
