import fc from 'fast-check';
import type { ContainerId, ContainerStateEvent } from '@forgeone/common';
import { describe, expect, it } from 'vitest';
import {
  containerActions,
  containerStates,
  containerTransitions,
  isTerminal,
  nextContainerState,
  type ContainerState,
} from '../index';
import { SERVICE, allow, containerRuntime } from './support/containerGuests';

describe('the container transition table', () => {
  it('refuses every pair it does not list with FORGE_CONTAINER_STATE naming state and action (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...containerStates),
        fc.constantFrom(...containerActions),
        (state, action) => {
          const allowed = containerTransitions[state][action];
          if (allowed === undefined) {
            expect(() => nextContainerState(state, action)).toThrow(
              expect.objectContaining({ code: 'FORGE_CONTAINER_STATE', details: { state, action } }),
            );
          } else expect(nextContainerState(state, action)).toBe(allowed);
          // Terminal states are left only by remove.
          if (isTerminal(state) && allowed !== undefined) expect(allowed).toBe('removed');
        },
      ),
    );
  });
});

/** One operation of the random sequences, on the n-th container launched so far. */
type Op =
  | { readonly op: 'launch' }
  | {
      readonly op:
        'count' | 'boom' | 'pause' | 'resume' | 'stop' | 'remove' | 'quarantine' | 'release' | 'terminate';
      readonly n: number;
    }
  | { readonly op: 'close' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ op: 'launch' } as const) },
  {
    weight: 10,
    arbitrary: fc.record({
      op: fc.constantFrom(
        'count',
        'count',
        'boom',
        'pause',
        'resume',
        'stop',
        'remove',
        'quarantine',
        'release',
        'terminate',
      ),
      n: fc.nat({ max: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'close' } as const) },
);

/** What the model expects of each container: a hand-written rule per operation, not the table. */
type Model = ContainerState | 'removed';

async function runSequence(ops: readonly Op[], isolation: 'inline' | 'worker'): Promise<void> {
  const { runtime, states } = containerRuntime({ isolation });
  const ids: ContainerId[] = [];
  const model = new Map<ContainerId, Model>();
  // Calls held by a pause or a quarantine, per container: a resume or release lets its own go.
  const pending = new Map<ContainerId, Promise<unknown>[]>();
  const hold = (id: ContainerId, call: Promise<unknown>) =>
    pending.set(id, [...(pending.get(id) ?? []), call]);
  const refused = async (call: Promise<unknown>, code: string) => {
    await expect(call).rejects.toMatchObject({ code });
  };
  try {
    for (const step of ops) {
      if (step.op === 'launch') {
        const id = await runtime.launchContainer({ source: SERVICE, policy: allow, isolation });
        ids.push(id);
        model.set(id, 'running');
        continue;
      }
      if (step.op === 'close') {
        await runtime.close();
        for (const [id, state] of model) {
          if (state === 'running' || state === 'paused' || state === 'quarantined') model.set(id, 'stopped');
        }
        continue;
      }
      const id = ids[step.n];
      if (id === undefined) continue;
      const state = model.get(id)!;
      if (state === 'removed') {
        await refused(runtime.get(id), 'FORGE_CONTAINER_NOT_FOUND');
        continue;
      }
      const live = state === 'running' || state === 'paused' || state === 'quarantined';
      switch (step.op) {
        case 'count':
          if (state === 'running') await runtime.invoke(id, 'count');
          else if (live) {
            // Held: the call waits for a resume or release, or is refused by a stop.
            hold(
              id,
              runtime.invoke(id, 'count').catch(() => undefined),
            );
          } else await refused(runtime.invoke(id, 'count'), 'FORGE_CONTAINER_STATE');
          break;
        case 'boom':
          if (state === 'running') {
            await runtime.invoke(id, 'boom');
            model.set(id, 'failed');
          } else if (!live) await refused(runtime.invoke(id, 'boom'), 'FORGE_CONTAINER_STATE');
          break;
        case 'pause':
          if (state === 'running') {
            await runtime.pause(id);
            model.set(id, 'paused');
          } else await refused(runtime.pause(id), 'FORGE_CONTAINER_STATE');
          break;
        case 'resume':
          if (state === 'paused') {
            await runtime.resume(id);
            model.set(id, 'running');
          } else await refused(runtime.resume(id), 'FORGE_CONTAINER_STATE');
          break;
        case 'quarantine':
          if (state === 'running' || state === 'paused') {
            await runtime.containers.quarantine(id, 'test');
            model.set(id, 'quarantined');
          } else await refused(runtime.containers.quarantine(id, 'test'), 'FORGE_CONTAINER_STATE');
          break;
        case 'release':
          if (state === 'quarantined') {
            await runtime.containers.release(id);
            model.set(id, 'running');
          } else await refused(runtime.containers.release(id), 'FORGE_CONTAINER_STATE');
          break;
        case 'terminate':
          if (state === 'quarantined') {
            await runtime.containers.terminate(id);
            model.set(id, 'stopped');
          } else await refused(runtime.containers.terminate(id), 'FORGE_CONTAINER_STATE');
          break;
        case 'stop':
          if (live) {
            await runtime.stop(id, { deadlineMs: 50 });
            model.set(id, 'stopped');
          } else await refused(runtime.stop(id), 'FORGE_CONTAINER_STATE');
          break;
        case 'remove':
          if (state === 'stopped' || state === 'failed') {
            await runtime.remove(id);
            model.set(id, 'removed');
          } else await refused(runtime.remove(id), 'FORGE_CONTAINER_STATE');
          break;
      }
      // Calls released by a resume may still be running: the state is read once they are through.
      // (Only this container's, and only when it was let go: a refused resume of a quarantined
      // container leaves its calls held, and another container's held calls stay held.)
      const released =
        (step.op === 'resume' && state === 'paused') || (step.op === 'release' && state === 'quarantined');
      if (released) {
        await Promise.all(pending.get(id) ?? []);
        pending.delete(id);
      }
      const expected = model.get(id)!;
      if (expected === 'removed') await refused(runtime.get(id), 'FORGE_CONTAINER_NOT_FOUND');
      else expect((await runtime.get(id)).state).toBe(expected);
    }
  } finally {
    await runtime.close();
  }
  await Promise.all([...pending.values()].flat());
  // After close every container is terminal, and every change it went through is in the table.
  for (const info of await runtime.list()) expect(isTerminal(info.state)).toBe(true);
  for (const event of states) expect(allowedChange(event)).toBe(true);
}

function allowedChange({ previous, state }: ContainerStateEvent): boolean {
  if (previous === null) return state === 'created';
  return Object.values(containerTransitions[previous]).includes(state);
}

describe('random command sequences against a model', () => {
  it('inline: never reaches a state the table does not allow; all terminal after close (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), (ops) => runSequence(ops, 'inline')),
      { numRuns: 40 },
    );
  });

  it('worker: the same, fewer runs (each spawns workers)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), (ops) => runSequence(ops, 'worker')),
      { numRuns: 4 },
    );
  });
});
