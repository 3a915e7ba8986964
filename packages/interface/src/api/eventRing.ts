import type { KernelEventBus, KernelEvents } from '@forgeone/common';
import { jsonSafe } from './jsonSafe';

/** One kernel event as streamed: an id that only grows, its type and a JSON copy of its payload. */
export interface StreamedEvent {
  readonly id: number;
  readonly type: string;
  readonly data: string;
}

/**
 * The kernel events the API streams (not `syscall.decided`: publishing every call would cost the
 * gate on its hot path).
 */
export const STREAMED_EVENTS = [
  'container.launched',
  'container.exited',
  'container.state',
  'container.quarantined',
  'quarantine.recorded',
  'quarantine.resolved',
  'policy.reloaded',
  'policy.stored',
  'approval.requested',
  'approval.settled',
  'kernel.shutdown',
] as const satisfies readonly (keyof KernelEvents)[];

/**
 * The most recent kernel events, numbered, so that a client that reconnects with `Last-Event-ID`
 * gets what it missed (as long as it is still in the ring), then live events.
 */
export class EventRing {
  readonly #capacity: number;
  readonly #ring: StreamedEvent[] = [];
  readonly #listeners = new Set<(event: StreamedEvent) => void>();
  readonly #unsubscribe: (() => void)[];
  #next = 1;

  constructor(events: KernelEventBus, capacity = 1024) {
    this.#capacity = capacity;
    this.#unsubscribe = STREAMED_EVENTS.map((type) =>
      events.on(type, (payload: unknown) => this.#push(type, payload)),
    );
  }

  /** The id the next event will have. */
  get nextId(): number {
    return this.#next;
  }

  /** The events kept after `lastId`, and whether some after it were already dropped from the ring. */
  after(lastId: number): { events: StreamedEvent[]; missed: number } {
    const first = this.#ring[0]?.id ?? this.#next;
    const events = this.#ring.filter((e) => e.id > lastId);
    return { events, missed: Math.max(0, first - lastId - 1) };
  }

  /** Calls `listener` for every new event; returns the unsubscribe. */
  subscribe(listener: (event: StreamedEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    for (const off of this.#unsubscribe) off();
    this.#listeners.clear();
  }

  #push(type: string, payload: unknown): void {
    const event = { id: this.#next++, type, data: JSON.stringify(jsonSafe(payload)) };
    this.#ring.push(event);
    if (this.#ring.length > this.#capacity) this.#ring.shift();
    for (const listener of this.#listeners) listener(event);
  }
}
