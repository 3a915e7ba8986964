import type { ContainerId } from '@forgeone/common';
import type { InvokeResult, ResultKind, TypedValue } from '@forgeone/execution';
import type { Redzone } from '@forgeone/trust';
import type { CallRange } from '../requestMarks';
import { ContainerCalls } from './containerCalls';
import { checkDeadlineMs, type ContainerConfig } from './containerConfig';
import type { ContainerManagerDeps } from './containerDeps';
import { matchesFilter, type ContainerFilter, type ContainerInfo } from './containerInfo';
import { ContainerLauncher } from './containerLauncher';
import { ContainerQuarantine, checkQuarantineReason } from './containerQuarantine';
import { ContainerSet, containerNotFound } from './containerSet';
import { ContainerTraces } from './containerTraces';
import { captureContainer } from './containerSnapshot';
import type { EncodeSnapshotOptions, EncodedSnapshot } from '@forgeone/observer';

export type { ContainerManagerDeps, QuarantineOptions } from './containerDeps';

/** How long `stop` lets the call in flight finish before the container is terminated, by default. */
export const DEFAULT_STOP_DEADLINE_MS = 5_000;
/** How long `close` lets each container's call in flight finish, by default. */
export const DEFAULT_CLOSE_DEADLINE_MS = 2_000;

/** Options of `stop`. */
export interface StopOptions {
  /** How long the call in flight may take to finish before the container is terminated. Default 5,000 ms. */
  readonly deadlineMs?: number;
}

/** Options of one `invoke`. */
export interface ContainerInvokeOptions {
  readonly results?: ResultKind;
  /**
   * The API request making this call: the audit entries of its syscalls name it, and the result
   * gets `calls`, the trace sequence numbers of the syscalls it made.
   */
  readonly requestId?: string;
}

/** What `invoke` answers: the call's result, with its calls' range when a request was named. */
export type ContainerInvokeResult = InvokeResult & { readonly calls?: CallRange };

/**
 * Long-lived containers: launched once (verified or development module, instantiated and kept),
 * then invoked, paused, resumed, quarantined, stopped and removed, every change through one
 * transition table (`containerTransitions`), published as `container.state` and kept in the
 * registry (the store), so that a kernel started after a crash lists every container and shows
 * those that were live as `failed("interrupted")`.
 */
export class ContainerManager {
  readonly #deps: ContainerManagerDeps;
  readonly #set: ContainerSet;
  readonly #quarantine: ContainerQuarantine;
  readonly #calls: ContainerCalls;
  readonly #launcher: ContainerLauncher;
  readonly #traces: ContainerTraces;

  constructor(deps: ContainerManagerDeps) {
    this.#deps = deps;
    this.#traces = new ContainerTraces(deps);
    // The set asks the quarantine (made next) about records when a container ends or is recovered.
    this.#set = new ContainerSet(deps, {
      ended: async (c) => {
        await this.#quarantine.ended(c);
        // The trace is the last thing of the container kept: its calls up to the end are in the store.
        await this.#traces.close(c.info, c.instance?.trace() ?? []);
      },
      interrupted: (ids) => this.#quarantine.interrupted(ids),
    });
    this.#quarantine = new ContainerQuarantine(deps, this.#set);
    this.#calls = new ContainerCalls(this.#set, this.#quarantine);
    this.#launcher = new ContainerLauncher(deps, this.#set, this.#calls, this.#quarantine, this.#traces);
  }

  /**
   * The quarantine records (`ls`, `show`, analysis, remediation). Releasing or terminating through
   * it acts on the container as `release` and `terminate` do.
   */
  get redzone(): Redzone {
    return this.#quarantine.redzone;
  }

  /** Launches a container and resolves with its id once it runs (a command's `_start` then runs on). */
  launch(config: ContainerConfig): Promise<ContainerId> {
    return this.#launcher.launch(config);
  }

  /** The container's registry entry (FORGE_CONTAINER_NOT_FOUND when there is none). */
  async get(id: ContainerId): Promise<ContainerInfo> {
    await this.#set.recovered();
    const info = this.#set.registry.get(id);
    if (info === undefined) throw containerNotFound(id);
    return info;
  }

  /** Every container of the registry that matches `filter`, oldest first. */
  async list(filter?: ContainerFilter): Promise<ContainerInfo[]> {
    await this.#set.recovered();
    return [...this.#set.registry.all()]
      .filter((info) => matchesFilter(info, filter))
      .sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
  }

  /**
   * Calls a service's export. Calls are taken one at a time, in order; while the container is
   * paused or quarantined the call waits until it is resumed or released. A trap or a deadline
   * comes back as the outcome and fails the container; a wrong argument or missing export is
   * the caller's error and leaves it running.
   */
  invoke(
    id: ContainerId,
    entry: string,
    args: readonly TypedValue[] = [],
    options: ContainerInvokeOptions = {},
  ): Promise<ContainerInvokeResult> {
    // Not async: a live container's call adds no promise of its own (see ContainerCalls.call).
    const live = this.#set.live.get(id);
    if (live === undefined)
      return this.#set
        .container(id)
        .then((c) => this.#calls.invoke(c, entry, args, options.results, options.requestId));
    try {
      return this.#calls.invoke(live, entry, args, options.results, options.requestId);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** Pauses a running container: the next call waits, the call in flight stops at its next syscall. */
  async pause(id: ContainerId): Promise<ContainerInfo> {
    const c = await this.#set.container(id);
    await this.#calls.pause(c);
    return c.info;
  }

  /** Resumes a paused container. */
  async resume(id: ContainerId): Promise<ContainerInfo> {
    const c = await this.#set.container(id);
    await this.#calls.resume(c);
    return c.info;
  }

  /**
   * Quarantines a running or paused container (an operator's request; a policy's `quarantine`
   * decision does the same by itself): held at its next syscall, with `reason`, its DNA and the
   * rules that fired kept in a redzone record, until `release` (running again) or `terminate`
   * (stopped) — or the maximum quarantine time, which terminates it.
   */
  async quarantine(id: ContainerId, reason: string): Promise<ContainerInfo> {
    checkQuarantineReason(reason);
    const c = await this.#set.container(id);
    await this.#quarantine.quarantine(c, reason);
    return c.info;
  }

  /** Releases a quarantined container (and its redzone record): it runs again. */
  async release(id: ContainerId, by?: string): Promise<ContainerInfo> {
    return this.#quarantine.release(await this.#set.container(id), by);
  }

  /** Ends a quarantined container at once (and its redzone record): stopped, without the grace of `stop`. */
  async terminate(id: ContainerId, by?: string): Promise<ContainerInfo> {
    return this.#quarantine.terminate(await this.#set.container(id), by);
  }

  /**
   * Stops a container gracefully: calls not started are refused, the call in flight (a command's
   * `_start`) may finish within `deadlineMs`, then the container is terminated. A paused one is
   * resumed for that; a quarantined one is terminated at once. Resolves with its final entry.
   */
  async stop(id: ContainerId, options: StopOptions = {}): Promise<ContainerInfo> {
    const deadlineMs = checkDeadlineMs(options.deadlineMs, DEFAULT_STOP_DEADLINE_MS);
    const c = await this.#set.container(id);
    await this.#calls.stop(c, deadlineMs);
    return c.info;
  }

  /**
   * Captures a running inline service between two calls (after the call in flight) as a `.fsnap`
   * snapshot: its memory, mutable globals, WASI descriptors, DNA and trace position. It must have
   * been launched with `snapshots: true`; what cannot be captured is refused with a code, never
   * saved in part. `launchContainer({ fromSnapshot })` starts a new one from it.
   */
  async snapshot(id: ContainerId, options: EncodeSnapshotOptions = {}): Promise<EncodedSnapshot> {
    return captureContainer(await this.#set.container(id), options);
  }

  /** Takes a stopped or failed container out of the registry (FORGE_CONTAINER_STATE while it lives). */
  remove(id: ContainerId): Promise<void> {
    return this.#set.remove(id);
  }

  /**
   * Stops every container (each call in flight gets `closeDeadlineMs`; quarantined ones are
   * terminated) once the launches under way have ended; resolves when all of it is in the registry.
   */
  async close(): Promise<void> {
    this.#launcher.closing = true;
    this.#quarantine.stopExpiry();
    try {
      await this.#launcher.drained();
      const deadlineMs = this.#deps.closeDeadlineMs ?? DEFAULT_CLOSE_DEADLINE_MS;
      await Promise.all(
        [...this.#set.live.values()].map(async (c) => {
          try {
            const state = c.info.state;
            if (state === 'quarantined') await this.#set.move(c, 'terminate');
            else if (state === 'running' || state === 'paused') await this.#calls.stop(c, deadlineMs);
          } catch {
            // A container that ended meanwhile (its own exit, a failure) is ended all the same.
          }
          await c.ended;
        }),
      );
      await this.#set.registry.flushed();
    } finally {
      this.#launcher.closing = false;
    }
  }
}
