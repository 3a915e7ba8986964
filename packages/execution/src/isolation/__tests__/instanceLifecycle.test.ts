import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  instanceEvents,
  instanceStates,
  instanceTransitions,
  nextInstanceState,
  type InstanceState,
} from '../../index';

describe('instance state machine', () => {
  it('follows the table, keeps terminated final and trapped reachable only to terminate (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...instanceEvents), { maxLength: 30 }), (events) => {
        let state: InstanceState = 'created';
        for (const event of events) {
          const allowed = instanceTransitions[state][event];
          let next: InstanceState | undefined;
          try {
            next = nextInstanceState(state, event);
          } catch (error) {
            expect(allowed).toBeUndefined();
            expect(error).toMatchObject({ code: 'FORGE_INSTANCE_STATE' });
            continue;
          }
          expect(next).toBe(allowed);
          if (state === 'terminated') throw new Error('left terminated');
          if (state === 'trapped') expect(next).toBe('terminated');
          state = next;
        }
        expect(instanceStates).toContain(state);
      }),
    );
  });

  it('resumes a pause between calls back to created', () => {
    expect(nextInstanceState('paused', 'resume', false)).toBe('created');
    expect(nextInstanceState('paused', 'resume', true)).toBe('running');
    // A call that ended before the syscall its pause waited for: the pause holds between calls.
    expect(nextInstanceState('paused', 'return')).toBe('paused');
    expect(nextInstanceState('paused', 'exit')).toBe('terminated');
    expect(() => nextInstanceState('created', 'return')).toThrow(/cannot return an instance that is created/);
  });
});
