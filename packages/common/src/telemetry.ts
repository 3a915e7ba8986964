import { trace, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Minimum level; `silent` turns logging off. Default `info`. */
  readonly level?: LevelWithSilent;
  /** Component name added to every line as `component`. */
  readonly name?: string;
  /** Where lines go. Default: standard error, so a CLI's standard output stays clean. */
  readonly destination?: DestinationStream;
}

/** A structured JSON logger (pino), one line per event. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? pino.destination({ dest: 2, sync: true });
  return pino(
    {
      level: options.level ?? 'info',
      base: options.name ? { component: options.name } : {},
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

const TRACER_NAME = '@forgeone';

/** The ForgeOne tracer. A no-op until the application registers an OpenTelemetry SDK. */
export function getTracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** Runs `fn` in a span named `name`, recording failures on the span. Works sync and async. */
export function withSpan<T>(name: string, fn: (span: Span) => T): T {
  return getTracer().startActiveSpan(name, (span) => {
    let result: T;
    try {
      result = fn(span);
    } catch (err) {
      endWithError(span, err);
      throw err;
    }
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          span.end();
          return value;
        },
        (err: unknown) => {
          endWithError(span, err);
          throw err;
        },
      ) as T;
    }
    span.end();
    return result;
  });
}

function endWithError(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
