import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  instanceEvents,
  instanceStates,
  instanceTransitions,
  nextInstanceState,
  type InstanceEvent,
  type InstanceState,
} from '../../index';
import { InstanceBase } from '../wasmInstance';

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

/** The state machine every instance runs (its per-call moves skip the table: they must agree with it). */
class ProbeInstance extends InstanceBase {
  fire(event: InstanceEvent): void {
    this.transition(event);
  }
}

describe('an instance follows the table', () => {
  it('moves as nextInstanceState says, with the call in flight tracked, and refuses the same (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...instanceEvents), { maxLength: 40 }), (events) => {
        const probe = new ProbeInstance();
        let state: InstanceState = 'created';
        let inFlight = false;
        for (const event of events) {
          let next: InstanceState | undefined;
          try {
            next = nextInstanceState(state, event, inFlight);
          } catch {
            next = undefined;
          }
          if (next === undefined) {
            expect(() => probe.fire(event)).toThrow(
              expect.objectContaining({ code: 'FORGE_INSTANCE_STATE' }),
            );
            expect(probe.state).toBe(state);
            continue;
          }
          probe.fire(event);
          expect(probe.state).toBe(next);
          state = next;
          if (event === 'invoke') inFlight = true;
          if (event === 'return' || event === 'trap' || event === 'exit' || event === 'terminate')
            inFlight = false;
        }
      }),
      { numRuns: 200 },
    );
  });
});
