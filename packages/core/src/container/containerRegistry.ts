import { ForgeError, type ContainerId, type JsonValue, type StoragePort } from '@forgeone/common';
import { containerInfoOf, type ContainerInfo } from './containerInfo';
import { isTerminal } from './containerState';

/** The store namespace of the container registry: one record per container, keyed by its id. */
export const CONTAINER_REGISTRY_NAMESPACE = 'containers';

/**
 * Every container the kernel knows of, last state first in memory and, given a store, in the
 * store: written in order, each change awaited by the operation that made it, so that a kernel
 * killed at any moment leaves a registry a new one can read (`recover`).
 */
export class ContainerRegistry {
  readonly #store: StoragePort | undefined;
  readonly #infos = new Map<ContainerId, ContainerInfo>();
  /** Store writes, one after the other (a later state must never be overwritten by an earlier one). */
  #writes: Promise<void> = Promise.resolve();
  #recovered: Promise<readonly ContainerId[]> | undefined;

  constructor(store: StoragePort | undefined) {
    this.#store = store;
  }

  /**
   * Reads the stored registry once. A container the store shows in a live state belonged to a
   * kernel that ended without stopping it (killed, crashed): it is marked `failed("interrupted")`
   * at `now`, in memory and in the store. Resolves to the ids so marked.
   */
  recover(now: () => number): Promise<readonly ContainerId[]> {
    this.#recovered ??= this.#recover(now);
    return this.#recovered;
  }

  async #recover(now: () => number): Promise<readonly ContainerId[]> {
    const store = this.#store;
    const interruptedIds: ContainerId[] = [];
    if (store === undefined) return interruptedIds;
    let after: string | undefined;
    for (;;) {
      const page = await store.listRecords(CONTAINER_REGISTRY_NAMESPACE, {
        limit: 1000,
        ...(after === undefined ? {} : { after }),
      });
      for (const record of page) {
        const info = containerInfoOf(record.value);
        if (info === undefined) {
          throw new ForgeError(
            'FORGE_STORAGE_CORRUPT',
            `the container registry holds a record that is not a container (${record.key})`,
            { details: { namespace: CONTAINER_REGISTRY_NAMESPACE, key: record.key } },
          );
        }
        if (this.#infos.has(info.id)) continue;
        if (isTerminal(info.state)) this.#infos.set(info.id, info);
        else {
          const { exitCode: _exitCode, ...rest } = info;
          const interrupted: ContainerInfo = {
            ...rest,
            state: 'failed',
            reason: 'interrupted',
            updated_at: now(),
          };
          this.#infos.set(info.id, interrupted);
          await this.put(interrupted);
          interruptedIds.push(info.id);
        }
      }
      if (page.length < 1000) return interruptedIds;
      after = page.at(-1)!.key;
    }
  }

  get(id: ContainerId): ContainerInfo | undefined {
    return this.#infos.get(id);
  }

  all(): IterableIterator<ContainerInfo> {
    return this.#infos.values();
  }

  /**
   * Records `info` in memory only: a state no caller is told of (a launch's `created` and
   * `starting`), which the next `put` of the container supersedes in the store. A kernel that
   * dies before that `put` leaves no entry: nobody was given the container's id.
   */
  note(info: ContainerInfo): void {
    this.#infos.set(info.id, info);
  }

  /** Records `info` (in memory at once); resolves once the store has it. */
  put(info: ContainerInfo): Promise<void> {
    this.#infos.set(info.id, info);
    const store = this.#store;
    if (store === undefined) return Promise.resolve();
    return this.#chain(() =>
      store.putRecord(CONTAINER_REGISTRY_NAMESPACE, info.id, info as unknown as JsonValue),
    );
  }

  /** Forgets a container; resolves once the store has dropped it. */
  delete(id: ContainerId): Promise<void> {
    this.#infos.delete(id);
    const store = this.#store;
    if (store === undefined) return Promise.resolve();
    return this.#chain(() => store.deleteRecord(CONTAINER_REGISTRY_NAMESPACE, id));
  }

  /** Resolves once every write asked for so far is in the store. */
  flushed(): Promise<void> {
    return this.#writes;
  }

  #chain(write: () => Promise<unknown>): Promise<void> {
    const done = this.#writes.then(write).then(() => undefined);
    // One failed write fails its own operation, not every later one.
    this.#writes = done.catch(() => undefined);
    return done;
  }
}
