import { ForgeError, type ContainerStateName } from '@forgeone/common';

/** Where a container is in its life: common's `ContainerStateName`, plus why it failed or was quarantined. */
export type ContainerState = ContainerStateName;

/** Every state, in the order a container's life goes through them. */
export const containerStates = [
  'created',
  'starting',
  'running',
  'paused',
  'stopping',
  'stopped',
  'failed',
  'quarantined',
] as const satisfies readonly ContainerState[];

/** What can happen to a container. */
export const containerActions = [
  'start',
  'started',
  'invoke',
  'pause',
  'resume',
  'quarantine',
  'release',
  'terminate',
  'stop',
  'stopped',
  'exit',
  'fail',
  'remove',
] as const;
export type ContainerAction = (typeof containerActions)[number];

/** `remove` takes a container out of the registry: it has no state afterwards. */
export type ContainerTarget = ContainerState | 'removed';

/**
 * The one table of a container's life: every allowed transition; anything missing is refused with
 * FORGE_CONTAINER_STATE. `stopped` and `failed` are terminal (only `remove` leaves them).
 * - `start` / `started`: the module is being instantiated (a service's `_initialize` runs) / it is up;
 * - `invoke`: a service takes a call (no change of state; paused or quarantined, it waits its turn);
 * - `exit`: a command's `_start` (or a service calling `proc_exit`) ended, with an exit code;
 * - `stop` / `stopped`: a graceful stop began (the call in flight may finish before its deadline) / ended;
 * - `quarantine`: held at its next syscall until `release` (back to running) or `terminate`;
 * - `fail`: a trap, a deadline, a worker that died, or (after a crash) `interrupted`.
 */
export const containerTransitions: Readonly<
  Record<ContainerState, Partial<Record<ContainerAction, ContainerTarget>>>
> = {
  created: { start: 'starting', fail: 'failed' },
  starting: { started: 'running', exit: 'stopped', fail: 'failed' },
  running: {
    invoke: 'running',
    pause: 'paused',
    quarantine: 'quarantined',
    stop: 'stopping',
    exit: 'stopped',
    fail: 'failed',
  },
  paused: {
    invoke: 'paused',
    resume: 'running',
    quarantine: 'quarantined',
    stop: 'stopping',
    exit: 'stopped',
    fail: 'failed',
  },
  quarantined: {
    invoke: 'quarantined',
    release: 'running',
    terminate: 'stopped',
    stop: 'stopping',
    exit: 'stopped',
    fail: 'failed',
  },
  stopping: { stopped: 'stopped', exit: 'stopped', fail: 'failed' },
  stopped: { remove: 'removed' },
  failed: { remove: 'removed' },
};

/** True for the states a container never leaves (except to be removed). */
export function isTerminal(state: ContainerState): boolean {
  return state === 'stopped' || state === 'failed';
}

/** The state after `action`, or FORGE_CONTAINER_STATE naming the state and the action refused. */
export function nextContainerState(
  state: ContainerState,
  action: ContainerAction,
  containerId?: string,
): ContainerTarget {
  const next = containerTransitions[state][action];
  if (next === undefined) {
    const which = containerId === undefined ? 'a container' : `container ${containerId}`;
    throw new ForgeError('FORGE_CONTAINER_STATE', `cannot ${action} ${which}: it is ${state}`, {
      details: { state, action, ...(containerId === undefined ? {} : { containerId }) },
    });
  }
  return next;
}
