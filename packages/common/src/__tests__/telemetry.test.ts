import {
  SpanStatusCode,
  trace,
  type Span,
  type SpanStatus,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, getTracer, withSpan } from '../index';

/** A destination that keeps what the logger writes. */
function memoryDestination(): { lines: string[]; write(msg: string): void } {
  const lines: string[] = [];
  return { lines, write: (msg: string) => void lines.push(msg) };
}

describe('createLogger', () => {
  it('writes one JSON line per event to the destination', () => {
    const destination = memoryDestination();
    const logger = createLogger({ name: 'storage', destination });
    logger.info({ seq: 7 }, 'appended');
    logger.warn('slow fsync');
    expect(destination.lines).toHaveLength(2);
    for (const line of destination.lines)
      expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true);
    const first = JSON.parse(destination.lines[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ level: 30, component: 'storage', seq: 7, msg: 'appended' });
    expect(new Date(first['time'] as string).toISOString()).toBe(first['time']);
    expect(JSON.parse(destination.lines[1]!)).toMatchObject({ level: 40, msg: 'slow fsync' });
  });

  it('filters by level and leaves out the component when unnamed', () => {
    const destination = memoryDestination();
    const logger = createLogger({ level: 'warn', destination });
    logger.info('hidden');
    logger.error('shown');
    expect(destination.lines).toHaveLength(1);
    expect(JSON.parse(destination.lines[0]!)).not.toHaveProperty('component');

    const silent = memoryDestination();
    createLogger({ level: 'silent', destination: silent }).fatal('nothing');
    expect(silent.lines).toEqual([]);
  });
});

interface RecordedSpan {
  name: string;
  ended: number;
  status: SpanStatus | undefined;
  exceptions: unknown[];
}

describe('withSpan', () => {
  const spans: RecordedSpan[] = [];

  beforeAll(() => {
    // A tracer that records what withSpan does to its spans; the API is a no-op without one.
    const tracer = {
      startActiveSpan(name: string, ...rest: unknown[]) {
        const fn = rest.at(-1) as (span: Span) => unknown;
        const record: RecordedSpan = { name, ended: 0, status: undefined, exceptions: [] };
        spans.push(record);
        const span = {
          end: () => void (record.ended += 1),
          setStatus: (status: SpanStatus) => {
            record.status = status;
            return span;
          },
          recordException: (exception: unknown) => void record.exceptions.push(exception),
        };
        return fn(span as unknown as Span);
      },
    } as unknown as Tracer;
    const provider: TracerProvider = { getTracer: () => tracer };
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
  });

  afterAll(() => trace.disable());

  it('uses the registered tracer', () => {
    expect(getTracer()).toBeDefined();
    withSpan('probe', () => undefined);
    expect(spans.at(-1)?.name).toBe('probe');
  });

  it('returns a synchronous value and ends the span once', () => {
    expect(withSpan('sync', () => 42)).toBe(42);
    expect(spans.at(-1)).toMatchObject({ name: 'sync', ended: 1, status: undefined });
  });

  it('resolves an asynchronous value and ends the span when it settles', async () => {
    let release!: (value: string) => void;
    const result = withSpan('async', () => new Promise<string>((resolve) => (release = resolve)));
    expect(spans.at(-1)?.ended).toBe(0);
    release('done');
    expect(await result).toBe('done');
    expect(spans.at(-1)).toMatchObject({ name: 'async', ended: 1, status: undefined });
  });

  it('rethrows a synchronous failure and marks the span', () => {
    const failure = new Error('sync boom');
    expect(() =>
      withSpan('sync-fail', () => {
        throw failure;
      }),
    ).toThrow(failure);
    expect(spans.at(-1)).toMatchObject({
      ended: 1,
      status: { code: SpanStatusCode.ERROR },
      exceptions: [failure],
    });
  });

  it('rethrows an asynchronous failure and marks the span', async () => {
    const failure = new Error('async boom');
    await expect(withSpan('async-fail', () => Promise.reject(failure))).rejects.toBe(failure);
    expect(spans.at(-1)).toMatchObject({
      ended: 1,
      status: { code: SpanStatusCode.ERROR },
      exceptions: [failure],
    });
    // A thrown non-Error is recorded as text.
    expect(() =>
      withSpan('odd', () => {
        throw 'text';
      }),
    ).toThrow('text');
    expect(spans.at(-1)?.exceptions).toEqual(['text']);
  });
});
