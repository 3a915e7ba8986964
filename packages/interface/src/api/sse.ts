import type { FastifyReply, FastifyRequest } from 'fastify';
import { ForgeError } from '@forgeone/common';
import type { EventRing, StreamedEvent } from './eventRing';

/** Bounds of the event streams. */
export interface EventStreamLimits {
  /** Most streams open at once; one more is answered 429. Default 64. */
  readonly maxStreams: number;
  /** A client that lets this many bytes pile up unread is cut off. Default 1 MiB. */
  readonly maxBufferedBytes: number;
  /** A comment line this often keeps proxies from closing an idle stream, ms. Default 15,000. */
  readonly heartbeatMs: number;
}

export const defaultEventStreamLimits: EventStreamLimits = {
  maxStreams: 64,
  maxBufferedBytes: 1 << 20,
  heartbeatMs: 15_000,
};

const frame = (e: StreamedEvent) => `id: ${e.id}\nevent: ${e.type}\ndata: ${e.data}\n\n`;

/** The open streams of one server: served, counted, and ended when the server closes. */
export class EventStreams {
  readonly #ring: EventRing;
  readonly #limits: EventStreamLimits;
  readonly #open = new Set<() => void>();

  constructor(ring: EventRing, limits: EventStreamLimits) {
    this.#ring = ring;
    this.#limits = limits;
  }

  get open(): number {
    return this.#open.size;
  }

  /**
   * Serves one stream: what the ring kept after `Last-Event-ID` first (a `missed` event tells how
   * many it no longer has), then live events of `types` (all streamed types when undefined).
   */
  serve(request: FastifyRequest, reply: FastifyReply, types: ReadonlySet<string> | undefined): void {
    if (this.#open.size >= this.#limits.maxStreams)
      throw new ForgeError(
        'FORGE_API_RATE_LIMITED',
        `too many event streams open (${this.#limits.maxStreams}); close one first`,
      );
    const header = request.headers['last-event-id'];
    const last = typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
    if (header !== undefined && last === undefined)
      throw new ForgeError('FORGE_INVALID_INPUT', 'Last-Event-ID must be the decimal id of an event', {
        details: { field: 'last-event-id' },
      });
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-request-id': String(request.id),
    });
    const wanted = (e: StreamedEvent) => types === undefined || types.has(e.type);
    const send = (text: string) => {
      if (raw.writableLength > this.#limits.maxBufferedBytes) end();
      else raw.write(text);
    };
    // The first line says where the stream starts, so a client can resume even before any event.
    raw.write(`retry: 2000\n: next ${this.#ring.nextId}\n\n`);
    if (last !== undefined) {
      const { events, missed } = this.#ring.after(last);
      if (missed > 0) send(`event: missed\ndata: ${JSON.stringify({ missed })}\n\n`);
      for (const e of events) if (wanted(e)) send(frame(e));
    }
    const unsubscribe = this.#ring.subscribe((e) => {
      if (wanted(e)) send(frame(e));
    });
    const heartbeat = setInterval(() => send(': heartbeat\n\n'), this.#limits.heartbeatMs);
    heartbeat.unref();
    const end = () => {
      if (!this.#open.delete(end)) return;
      clearInterval(heartbeat);
      unsubscribe();
      raw.end();
    };
    this.#open.add(end);
    raw.on('close', end);
  }

  /** Ends every open stream (the server is closing). */
  closeAll(): void {
    for (const end of [...this.#open]) end();
  }
}
