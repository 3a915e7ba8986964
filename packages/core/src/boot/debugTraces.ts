import { MemoryStore, type ContainerId, type StoragePort } from '@forgeone/common';
import { parseTraceJsonl, traceToJsonl, type RecordedTrace } from '@forgeone/observer';

/** Where a debug kernel keeps the trace of each run: one record per container, the trace in a blob. */
export const DEBUG_TRACES_NAMESPACE = 'debug.traces';

/** What the record of a kept trace holds. */
export interface KeptTrace {
  readonly containerId: string;
  /** The SHA-256 of the JSONL trace blob (the `forgeone run --trace` file format). */
  readonly blob: string;
  readonly calls: number;
  readonly moduleSha256: string;
}

/**
 * The traces a debug-mode kernel keeps for replay: every run's recorded trace, in the kernel's
 * store (in memory when it has none, for the kernel's lifetime).
 */
export class DebugTraces {
  readonly #store: StoragePort;

  constructor(store: StoragePort | undefined) {
    this.#store = store ?? new MemoryStore();
  }

  /** Keeps one run's trace; resolves once it is in the store. */
  async keep(containerId: ContainerId, trace: RecordedTrace): Promise<KeptTrace> {
    const blob = await this.#store.putBlob(new TextEncoder().encode(traceToJsonl(trace)));
    const kept: KeptTrace = {
      containerId,
      blob,
      calls: trace.events.length,
      moduleSha256: trace.header.module,
    };
    await this.#store.putRecord(DEBUG_TRACES_NAMESPACE, containerId, { ...kept });
    return kept;
  }

  /** The kept trace of a run, ready for `Runtime.replay`, or undefined. */
  async get(containerId: string): Promise<RecordedTrace | undefined> {
    const record = await this.#store.getRecord(DEBUG_TRACES_NAMESPACE, containerId);
    const blob = (record?.value as { blob?: unknown } | undefined)?.blob;
    if (typeof blob !== 'string') return undefined;
    const bytes = await this.#store.getBlob(blob);
    return bytes === undefined ? undefined : parseTraceJsonl(new TextDecoder().decode(bytes));
  }
}
