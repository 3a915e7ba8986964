import { ForgeError, toForgeError } from '@forgeone/common';
import {
  InlineInstance,
  type InvokeResult,
  type ResultKind,
  type RunOutcome,
  type TypedValue,
  type WasmInstance,
} from '@forgeone/execution';
import { quarantineReasonOf } from '../quarantine/quarantineInput';
import type { ContainerQuarantine } from './containerQuarantine';
import type { ContainerSet } from './containerSet';
import { isTerminal, nextContainerState } from './containerState';
import type { LiveContainer } from './liveContainer';
import { checkRequestId, withCalls } from '../requestMarks';

/**
 * What is done to a running container: its calls (a service's `invoke`, a command's `_start`) and
 * what their endings do to it, pause and resume, and the graceful stop.
 */
export class ContainerCalls {
  readonly #set: ContainerSet;
  readonly #quarantine: ContainerQuarantine;

  constructor(set: ContainerSet, quarantine: ContainerQuarantine) {
    this.#set = set;
    this.#quarantine = quarantine;
  }

  /** A service's call of `entry` (FORGE_CONTAINER_STATE for a command or a container not running). */
  invoke(
    c: LiveContainer,
    entry: string,
    args: readonly TypedValue[],
    results: ResultKind | undefined,
    requestId?: string,
  ): Promise<InvokeResult> {
    const id = c.info.id;
    checkRequestId(requestId, 'requestId');
    if (c.info.kind === 'command') {
      throw new ForgeError(
        'FORGE_CONTAINER_STATE',
        `cannot invoke container ${id}: it is a command (it runs _start only)`,
        {
          details: { state: c.info.state, action: 'invoke', kind: 'command', containerId: id },
        },
      );
    }
    // A running service takes the call (the table's row, without its lookup on every call).
    if (c.info.state !== 'running') nextContainerState(c.info.state, 'invoke', id);
    return this.call(c, entry, args, results, requestId);
  }

  /**
   * Runs one call in the container's queue; its ending (trap, exit, quarantine) moves the container.
   * An idle inline container runs it at once, synchronously: a service's call that returns then
   * costs one resolved promise.
   */
  call(
    c: LiveContainer,
    entry: string,
    args: readonly TypedValue[],
    results: ResultKind | undefined,
    requestId?: string,
  ): Promise<InvokeResult> {
    const instance = c.instance;
    if (instance instanceof InlineInstance && !instanceEnded(instance) && c.beginNow()) {
      // A library call (no request) on a container that never had one reads no counter.
      const fromSeq = requestId !== undefined || c.requests.changes(undefined) ? instance.callsMade + 1 : 0;
      c.requests.begin(fromSeq, requestId);
      // No closure, no wrapper, no turn of the queue: the call runs here, between beginNow and endNow.
      let result: InvokeResult;
      try {
        result = instance.invokeSync(entry, args, results ? { ...c.callOptions, results } : c.callOptions);
      } catch (error) {
        c.endNow();
        return this.#ending(c, Promise.reject(error as Error));
      }
      c.endNow();
      // A caller that named its request learns which calls it made (their decision ids).
      if (requestId !== undefined) result = withCalls(result, fromSeq, instance.callsMade);
      if (result.outcome.status === 'returned' && c.info.kind === 'service') return Promise.resolve(result);
      return this.#ending(c, Promise.resolve(result));
    }
    return this.#ending(
      c,
      c.enqueue(() => {
        const queued = c.instance!;
        // A worker that died between calls: its container failed, and this call is refused.
        if (instanceEnded(queued)) {
          throw new ForgeError(
            'FORGE_WORKER_FAILED',
            `container ${c.info.id} lost its instance between calls`,
          );
        }
        // Calls are taken one at a time: this one's syscalls follow the last one's.
        const from = queued.callsMade + 1;
        c.requests.begin(from, requestId);
        const running = queued.invoke(entry, args, results ? { ...c.callOptions, results } : c.callOptions);
        return requestId === undefined ? running : running.then((r) => withCalls(r, from, queued.callsMade));
      }),
    );
  }

  /** What a call's result or failure does to its container, once it has it. */
  async #ending(c: LiveContainer, running: Promise<InvokeResult>): Promise<InvokeResult> {
    let result: InvokeResult;
    try {
      result = await running;
    } catch (error) {
      // A wrong argument or a missing export leaves the instance as it was; anything that ended it fails it.
      if (!isTerminal(c.info.state) && c.info.state !== 'stopping' && instanceEnded(c.instance)) {
        await this.#set.move(c, 'fail', { reason: toForgeError(error).code }).catch(() => undefined);
      }
      throw error;
    }
    const { outcome } = result;
    if (
      outcome.status === 'trapped' &&
      outcome.error.code === 'FORGE_CONTAINER_QUARANTINED' &&
      !instanceEnded(c.instance)
    ) {
      // Inline: the policy's quarantine cut this call at its syscall; the container is held.
      c.cut = c.info.kind === 'command';
      await this.#quarantine.byPolicy(c, quarantineReasonOf(outcome.error));
      return result;
    }
    // A service's call that returned changes nothing.
    if (result.outcome.status !== 'returned' || c.info.kind === 'command')
      await this.settle(c, result.outcome, c.info.kind === 'command');
    return result;
  }

  /** What a call's ending does to its container: a trap fails it, an exit (or a command's return) ends it. */
  async settle(c: LiveContainer, outcome: RunOutcome, command: boolean): Promise<void> {
    if (isTerminal(c.info.state)) return;
    if (outcome.status === 'trapped') await this.#set.move(c, 'fail', { reason: outcome.error.code });
    else if (outcome.status === 'exited' || command)
      await this.#set.move(c, 'exit', { exitCode: outcome.exitCode });
  }

  /** Pauses a running container, once its guest runs no code. */
  async pause(c: LiveContainer): Promise<void> {
    const moved = this.#set.move(c, 'pause');
    c.pauseGuest();
    await moved;
    await c.whenBlocked();
  }

  /** Resumes a paused container. */
  async resume(c: LiveContainer): Promise<void> {
    const moved = this.#set.move(c, 'resume');
    c.resumeGuest();
    await moved;
  }

  /**
   * Stops a container gracefully: calls not started are refused, the call in flight may finish
   * within `deadlineMs`, then the container is terminated. A paused one is resumed for that; a
   * quarantined one is terminated at once.
   */
  async stop(c: LiveContainer, deadlineMs: number): Promise<void> {
    const from = c.info.state;
    const moved = this.#set.move(c, 'stop');
    c.refuse(
      () =>
        new ForgeError(
          'FORGE_CONTAINER_STATE',
          `container ${c.info.id} was stopped before the call started`,
          {
            details: { state: 'stopping', action: 'invoke', containerId: c.info.id },
          },
        ),
    );
    if (from === 'quarantined') {
      await moved;
      await this.#set.move(c, 'stopped');
    } else {
      // Paused: the call it holds may finish within the deadline.
      if (from === 'paused' && c.instance?.state === 'paused') c.instance.resume();
      await moved;
      await c.whenIdle(deadlineMs);
      if (!isTerminal(c.info.state)) await this.#set.move(c, 'stopped');
    }
    await c.ended;
  }
}

function instanceEnded(instance: WasmInstance | undefined): boolean {
  return instance === undefined || instance.state === 'terminated' || instance.state === 'trapped';
}
