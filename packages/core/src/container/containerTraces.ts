import type { ContainerId } from '@forgeone/common';
import type { TraceBatch, TraceEvent, TraceRunContext, TraceSink, TraceSinkEnd } from '@forgeone/observer';
import { durableTraceSettings, openDurableTrace, type DurableTraceOptions } from '../durableTrace';
import type { ContainerManagerDeps } from './containerDeps';
import type { ContainerInfo } from './containerInfo';

const FORGE_CODE = /^FORGE_[A-Z0-9_]+$/;

/** How a container ended, as its stored trace's end record says it. */
function endOf(info: ContainerInfo): TraceSinkEnd {
  if (info.state === 'stopped')
    return typeof info.exitCode === 'number'
      ? { status: 'exited', exitCode: info.exitCode }
      : { status: 'returned', exitCode: null };
  const code = info.reason !== undefined && FORGE_CODE.test(info.reason) ? info.reason : undefined;
  return { status: 'trapped', exitCode: null, ...(code === undefined ? {} : { code }) };
}

/**
 * The durable traces of a manager's containers: one TraceSink per container, opened at launch
 * before the guest runs, fed the recorder's batches, flushed when the container is quarantined
 * (its trace so far is in the store while it is held) and closed however it ends.
 */
export class ContainerTraces {
  readonly #deps: ContainerManagerDeps;
  readonly #sinks = new Map<ContainerId, TraceSink>();
  #listening = false;

  constructor(deps: ContainerManagerDeps) {
    this.#deps = deps;
  }

  /**
   * Opens a launching container's trace (undefined when durable traces are off or there is no
   * store): what takes its recorder's batches, unbuilt (`onTraceLazyBatch`).
   */
  async open(
    id: ContainerId,
    header: { module: string; entry: string; recordedAt: number; run?: TraceRunContext },
    settings: DurableTraceOptions | undefined,
  ): Promise<((batch: TraceBatch) => void) | undefined> {
    const store = this.#deps.store;
    if (store === undefined || settings === undefined) return undefined;
    const sink = await openDurableTrace(store, { ...header, args: [], containerId: id }, settings);
    this.#sinks.set(id, sink);
    if (!this.#listening) {
      this.#listening = true;
      this.#deps.events.on('container.state', (event) => {
        if (event.state === 'quarantined')
          void this.#sinks
            .get(event.containerId)
            ?.flush()
            .catch(() => undefined);
      });
    }
    return (batch) => sink.add(batch);
  }

  /**
   * A launch's trace settings (its `durableTrace` over the kernel's; undefined when off), checked
   * before anything is launched: options on a kernel without a store are refused.
   */
  settings(option: false | DurableTraceOptions | undefined): DurableTraceOptions | undefined {
    return durableTraceSettings(this.#deps.store, this.#deps.durableTraces, option, 'launchContainer');
  }

  /** Closes an ended container's trace with the calls no batch carried (best effort: a failure is counted in it). */
  async close(info: ContainerInfo, trace: readonly TraceEvent[]): Promise<void> {
    const sink = this.#sinks.get(info.id);
    if (sink === undefined) return;
    this.#sinks.delete(info.id);
    await sink.close(endOf(info), trace).catch(() => undefined);
  }
}
