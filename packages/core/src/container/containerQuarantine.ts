import { ForgeError, MemoryStore, emptyExecutionDna, type ContainerId } from '@forgeone/common';
import { Redzone } from '@forgeone/trust';
import { quarantineInputOf } from '../quarantine/quarantineInput';
import type { ContainerManagerDeps } from './containerDeps';
import type { ContainerInfo } from './containerInfo';
import type { ContainerSet } from './containerSet';
import { nextContainerState } from './containerState';
import type { LiveContainer } from './liveContainer';

/**
 * Quarantine of containers: an operator's request or a policy's `quarantine` decision holds the
 * container at its next syscall and makes a redzone record (reason, rules that fired, DNA); the
 * redzone's release runs it again, its terminate (an operator's, or the maximum time) stops it.
 */
export class ContainerQuarantine {
  readonly #deps: ContainerManagerDeps;
  readonly #set: ContainerSet;
  readonly redzone: Redzone;
  #stopExpiry: (() => void) | undefined;

  constructor(deps: ContainerManagerDeps, set: ContainerSet) {
    this.#deps = deps;
    this.#set = set;
    const maxQuarantineMs = deps.quarantine?.maxQuarantineMs;
    this.redzone = new Redzone(deps.store ?? new MemoryStore(), {
      clock: deps.clock,
      ...(maxQuarantineMs === undefined ? {} : { maxQuarantineMs }),
      onRelease: (record) => this.#released(record.containerId as ContainerId),
      onTerminate: (record) => this.#terminated(record.containerId as ContainerId),
    });
  }

  /** An operator's quarantine of a running or paused container, once it is held and recorded. */
  quarantine(c: LiveContainer, reason: string): Promise<void> {
    const moved = this.#set.move(c, 'quarantine', { reason });
    c.pauseGuest();
    this.#deps.events.emit('container.quarantined', { containerId: c.info.id, reason });
    return this.#recording(c, async () => {
      await moved;
      await c.whenBlocked();
      await this.#record(c, reason);
    });
  }

  /**
   * Runs the steps from `quarantined` to its record being written, as the container's `recording`:
   * an operator's release or terminate that comes meanwhile (the state already says quarantined)
   * waits for them, else it would find no record to resolve and the record would be left behind.
   */
  #recording(c: LiveContainer, steps: () => Promise<void>): Promise<void> {
    const done = steps();
    c.recording = done.catch(() => undefined);
    return done;
  }

  /** A policy decided `quarantine`: the container is held and the record made, as an operator's would be. */
  async byPolicy(c: LiveContainer, reason: string): Promise<void> {
    if (c.info.state !== 'running' && c.info.state !== 'paused') return;
    try {
      c.hold();
      await this.#recording(c, async () => {
        await this.#set.move(c, 'quarantine', { reason });
        await this.#record(c, reason);
      });
    } catch {
      // The container ended meanwhile (stopped, failed): nothing is left to hold.
    }
  }

  /** Releases a quarantined container (and its redzone record): it runs again. */
  async release(c: LiveContainer, by: string | undefined): Promise<ContainerInfo> {
    const id = c.info.id;
    nextContainerState(c.info.state, 'release', id);
    await c.recording;
    if (await this.redzone.isSuspended(id)) await this.redzone.release(id, by);
    else await this.#released(id);
    return c.info;
  }

  /** Ends a quarantined container at once (and its redzone record). */
  async terminate(c: LiveContainer, by: string | undefined): Promise<ContainerInfo> {
    const id = c.info.id;
    nextContainerState(c.info.state, 'terminate', id);
    await c.recording;
    if (await this.redzone.isSuspended(id)) await this.redzone.terminate(id, 'terminated', by);
    else await this.#terminated(id);
    await c.ended;
    return c.info;
  }

  /** A container ended: a record still held (it was stopped, failed, or the kernel closed) ends with it. */
  async ended(c: LiveContainer): Promise<void> {
    const { id, state } = c.info;
    if (c.recorded && (await this.redzone.isSuspended(id).catch(() => false)))
      await this.redzone.terminate(id, `the container is ${state}`, 'kernel').catch(() => undefined);
  }

  /**
   * A container that was held in quarantine when the last kernel died is interrupted like the
   * others, and its redzone record is ended with it (else it would stay active, holding nothing,
   * until its maximum time).
   */
  async interrupted(ids: readonly ContainerId[]): Promise<void> {
    for (const id of ids) {
      if (await this.redzone.isSuspended(id)) {
        await this.redzone.terminate(id, 'the kernel stopped while the container was held', 'kernel');
      }
    }
  }

  /** Stops looking for overdue stays (the kernel closes). */
  stopExpiry(): void {
    this.#stopExpiry?.();
    this.#stopExpiry = undefined;
  }

  /** The redzone record of a held container: reason, rules that fired, DNA; expiry starts watching. */
  async #record(c: LiveContainer, reason: string): Promise<void> {
    c.recorded = true;
    const instance = c.instance;
    const record = await this.redzone.quarantine(
      quarantineInputOf(c.info.id, reason, {
        trace: instance?.trace() ?? [],
        dna: instance?.dna() ?? emptyExecutionDna(c.info.id),
      }),
    );
    this.#deps.events.emit('quarantine.recorded', {
      containerId: c.info.id,
      reason,
      firedRules: record.firedRules,
      deadline: record.deadline,
    });
    this.#stopExpiry ??= this.redzone.startExpiry(this.#deps.quarantine?.expiryIntervalMs ?? 1_000);
  }

  /** The redzone released the record: the container runs again (an inline command whose call was cut ends). */
  async #released(id: ContainerId): Promise<void> {
    this.#deps.events.emit('quarantine.resolved', { containerId: id, state: 'released' });
    const c = this.#set.live.get(id);
    if (c === undefined || c.info.state !== 'quarantined') return;
    await this.#set.move(c, 'release');
    c.resumeGuest();
    if (c.cut) await this.#set.move(c, 'exit', { exitCode: null });
  }

  /** The redzone terminated the record (an operator, a remediation, or its maximum time): the container stops. */
  async #terminated(id: ContainerId): Promise<void> {
    const c = this.#set.live.get(id);
    this.#deps.events.emit('quarantine.resolved', { containerId: id, state: 'terminated' });
    if (c === undefined || c.info.state !== 'quarantined') return;
    await this.#set.move(c, 'terminate');
    await c.ended;
  }
}

/** FORGE_INVALID_INPUT unless `reason` is a non-empty string. */
export function checkQuarantineReason(reason: unknown): asserts reason is string {
  if (typeof reason !== 'string' || reason.length === 0) {
    throw new ForgeError('FORGE_INVALID_INPUT', 'quarantine needs a reason', {
      details: { field: 'reason' },
    });
  }
}
