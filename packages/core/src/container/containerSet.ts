import { ForgeError, type ContainerId } from '@forgeone/common';
import type { ContainerManagerDeps } from './containerDeps';
import type { ContainerInfo } from './containerInfo';
import { ContainerRegistry } from './containerRegistry';
import { isTerminal, nextContainerState, type ContainerAction } from './containerState';
import { LiveContainer } from './liveContainer';

/** What the set asks of the quarantine when a container ends or an earlier kernel's are recovered. */
export interface ContainerSetHooks {
  /** A container reached a terminal state: a redzone record it still holds ends with it. */
  ended(c: LiveContainer): Promise<void>;
  /** Containers an earlier kernel left live, now `failed("interrupted")`. */
  interrupted(ids: readonly ContainerId[]): Promise<void>;
}

/** What a move records beside the new state. */
export interface MoveExtra {
  readonly reason?: string;
  readonly exitCode?: number | null;
}

/**
 * The containers this kernel runs and the registry of every container: each change goes through
 * the transition table, is published as `container.state` and is in the registry (the store)
 * before the operation that made it resolves; a terminal state gives back what the container held.
 */
export class ContainerSet {
  readonly #deps: ContainerManagerDeps;
  readonly #hooks: ContainerSetHooks;
  readonly registry: ContainerRegistry;
  readonly live = new Map<ContainerId, LiveContainer>();
  #recovery: Promise<void> | undefined;

  constructor(deps: ContainerManagerDeps, hooks: ContainerSetHooks) {
    this.#deps = deps;
    this.#hooks = hooks;
    this.registry = new ContainerRegistry(deps.store);
  }

  /** The registry as the last kernel left it (read once; interrupted containers marked). */
  recovered(): Promise<void> {
    this.#recovery ??= this.registry
      .recover(() => this.#deps.clock.now())
      .then((ids) => this.#hooks.interrupted(ids));
    return this.#recovery;
  }

  /** The live container, or one of an earlier kernel with only its entry (FORGE_CONTAINER_NOT_FOUND). */
  async container(id: ContainerId): Promise<LiveContainer> {
    await this.recovered();
    const c = this.live.get(id);
    if (c !== undefined) return c;
    const info = this.registry.get(id);
    if (info === undefined) throw containerNotFound(id);
    // A container of an earlier kernel: only its entry is left.
    return new LiveContainer(info);
  }

  /** A new container's first state: published, and in the registry in memory (the store gets it with `starting`). */
  created(c: LiveContainer): void {
    const { info } = c;
    this.live.set(info.id, c);
    this.#deps.events.emit('container.state', {
      containerId: info.id,
      name: info.name,
      state: 'created',
      previous: null,
      created_at: info.created_at,
      updated_at: info.updated_at,
    });
    this.registry.note(info);
  }

  /**
   * Applies one action through the table (or throws FORGE_CONTAINER_STATE), publishes the change
   * and resolves once the registry has it. Reaching a terminal state ends the container.
   */
  move(c: LiveContainer, action: ContainerAction, extra: MoveExtra = {}): Promise<void> {
    const previous = c.info.state;
    const next = nextContainerState(previous, action, c.info.id);
    if (next === 'removed') throw new ForgeError('FORGE_INTERNAL', 'remove is not a move');
    const { reason: _reason, exitCode: _exitCode, ...base } = c.info;
    // Failed and quarantined say why; stopped says how a command ended.
    const reason = next === 'failed' || next === 'quarantined' ? extra.reason : undefined;
    const info: ContainerInfo = {
      ...base,
      state: next,
      ...(reason === undefined ? {} : { reason }),
      ...(next === 'stopped' && extra.exitCode !== undefined ? { exitCode: extra.exitCode } : {}),
      updated_at: this.#deps.clock.now(),
    };
    c.info = info;
    this.#deps.events.emit('container.state', {
      containerId: info.id,
      name: info.name,
      state: next,
      previous,
      ...(reason === undefined ? {} : { reason }),
      created_at: info.created_at,
      updated_at: info.updated_at,
    });
    const persisted = this.registry.put(info);
    if (isTerminal(next)) c.ended = this.#end(c);
    return persisted;
  }

  /** Takes a stopped or failed container out of the registry (FORGE_CONTAINER_STATE while it lives). */
  async remove(id: ContainerId): Promise<void> {
    await this.recovered();
    const info = this.registry.get(id);
    if (info === undefined) throw containerNotFound(id);
    nextContainerState(info.state, 'remove', id);
    const c = this.live.get(id);
    if (c !== undefined) {
      await c.ended;
      c.releaseAllocation();
      this.live.delete(id);
    }
    await this.registry.delete(id);
  }

  /** Everything a container holds is given back, on every way out: instance, allocation, audit. */
  async #end(c: LiveContainer): Promise<void> {
    const { id, state, reason, exitCode } = c.info;
    c.refuse(
      () =>
        new ForgeError('FORGE_CONTAINER_STATE', `container ${id} is ${state}`, {
          details: { state, action: 'invoke', containerId: id },
        }),
    );
    try {
      if (c.instance !== undefined) await c.host?.dispose(c.instance);
    } catch {
      // Best effort: the instance is gone either way.
    }
    c.releaseAllocation();
    await this.#hooks.ended(c);
    this.#deps.events.emit('container.exited', {
      containerId: id,
      exitCode: exitCode ?? null,
      reason: reason ?? state,
    });
    await c.audit?.finish(c.instance?.trace() ?? []).catch(() => undefined);
    // Its entry is the registry's now: the instance (its memory, its trace) is let go.
    c.instance = undefined;
    c.host = undefined;
    this.live.delete(id);
  }
}

/** FORGE_CONTAINER_NOT_FOUND for `id`. */
export function containerNotFound(id: ContainerId): ForgeError {
  return new ForgeError('FORGE_CONTAINER_NOT_FOUND', `no container ${id} in the registry`, {
    details: { containerId: id },
  });
}
