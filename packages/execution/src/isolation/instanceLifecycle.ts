import { ForgeError } from '@forgeone/common';

/** Where an instance is in its life. */
export const instanceStates = ['created', 'running', 'paused', 'trapped', 'terminated'] as const;
export type InstanceState = (typeof instanceStates)[number];

/** What happens to an instance. */
export const instanceEvents = ['invoke', 'return', 'trap', 'exit', 'pause', 'resume', 'terminate'] as const;
export type InstanceEvent = (typeof instanceEvents)[number];

/**
 * Every allowed transition; anything missing is refused. `resume` from `paused` goes back to where
 * the pause came from (a call in flight: `running`; between calls: `created`), so it has two rows.
 * `trapped` and `terminated` are final except that a trapped instance can still be terminated.
 */
export const instanceTransitions: Readonly<
  Record<InstanceState, Partial<Record<InstanceEvent, InstanceState>>>
> = {
  created: { invoke: 'running', pause: 'paused', terminate: 'terminated' },
  running: {
    return: 'created',
    trap: 'trapped',
    exit: 'terminated',
    pause: 'paused',
    terminate: 'terminated',
  },
  // A call may end before it reaches the syscall at which a pause would stop it: the pause then
  // holds between calls (resume leads to `created`).
  paused: {
    resume: 'running',
    return: 'paused',
    exit: 'terminated',
    terminate: 'terminated',
    trap: 'trapped',
  },
  trapped: { terminate: 'terminated' },
  terminated: {},
};

/**
 * The state after `event`, or a FORGE_INSTANCE_STATE error naming what was refused.
 * `callInFlight` decides where `resume` leads.
 */
export function nextInstanceState(
  state: InstanceState,
  event: InstanceEvent,
  callInFlight = true,
): InstanceState {
  const next = instanceTransitions[state][event];
  if (next === undefined) {
    throw new ForgeError('FORGE_INSTANCE_STATE', `cannot ${event} an instance that is ${state}`, {
      details: { state, event },
    });
  }
  return event === 'resume' && !callInFlight ? 'created' : next;
}
