import { ForgeError, forgeErrorCodes, type ForgeErrorCode } from '@forgeone/common';
import { apiRoutes, type ApiOperation, type ApiRoutes } from '../api/apiRoutes';
import type { Problem } from '../api/problem';
import type { RouteRequest, RouteResult, RouteSpec } from '../api/route';
import { transportError } from './transportError';

export interface ApiClientOptions {
  /** Where the daemon listens, e.g. `http://127.0.0.1:7460`. */
  readonly baseUrl: string;
  /** A bearer token (`forgeoned token create`); public routes work without. */
  readonly token?: string;
  /** Each call's deadline, ms. Default 30,000. */
  readonly timeoutMs?: number;
  /** The fetch to use (default: the global one). */
  readonly fetch?: typeof fetch;
}

/** An answer that was not a success: its status, the problem document and its ForgeOne code. */
export class ApiClientError extends ForgeError {
  readonly status: number;
  readonly problem: Problem | undefined;
  readonly headers: Headers;

  constructor(status: number, problem: Problem | undefined, message: string, headers: Headers) {
    const code =
      problem && Object.hasOwn(forgeErrorCodes, problem.code)
        ? (problem.code as ForgeErrorCode)
        : 'FORGE_API_CLIENT';
    super(code, message, { details: { status } });
    this.status = status;
    this.problem = problem;
    this.headers = headers;
  }
}

/** One Server-Sent Event. */
export interface ServerSentEvent {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: string;
}

export interface ApiClient {
  /** Calls one operation of the API, typed from its declaration; the answer is checked against its schema. */
  call<K extends ApiOperation>(
    operation: K,
    request?: RouteRequest<ApiRoutes[K]>,
  ): Promise<RouteResult<ApiRoutes[K]>>;
  /**
   * Follows `/v1/events`: yields each event until `signal` aborts or the server ends the stream.
   * `lastEventId` resumes after that event.
   */
  events(options?: {
    lastEventId?: string;
    types?: readonly string[];
    signal?: AbortSignal;
  }): AsyncGenerator<ServerSentEvent>;
}

/** A typed client of the /v1 API, built on the same route declarations as the server. */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const rawFetch = options.fetch ?? fetch;
  // A refused connection, an unknown host or a deadline is one coded error, not fetch's TypeError.
  const doFetch = async (url: string, init: RequestInit): Promise<Response> => {
    try {
      return await rawFetch(url, init);
    } catch (error) {
      throw transportError(error, base, timeoutMs);
    }
  };
  const timeoutMs = options.timeoutMs ?? 30_000;
  const auth: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};

  const urlOf = (spec: RouteSpec, request: { params?: unknown; query?: unknown } | undefined) => {
    const params = (request?.params ?? {}) as Record<string, unknown>;
    const path = spec.path.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) =>
      encodeURIComponent(String(params[name] ?? '')),
    );
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries((request?.query ?? {}) as Record<string, unknown>))
      if (value !== undefined) query.set(key, String(value));
    const text = query.toString();
    return `${base}${path}${text ? `?${text}` : ''}`;
  };

  return {
    async call(operation, request) {
      const spec: RouteSpec = apiRoutes[operation];
      const body = (request as { body?: unknown } | undefined)?.body;
      const response = await doFetch(urlOf(spec, request), {
        method: spec.method,
        headers: {
          ...auth,
          ...(body === undefined ? {} : { 'content-type': spec.consumes ?? 'application/json' }),
        },
        // A binary body (a package) goes as its bytes; everything else as JSON.
        ...(body === undefined
          ? {}
          : { body: spec.consumes ? new Uint8Array(body as Uint8Array) : JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text().catch((error: unknown) => {
        throw transportError(error, base, timeoutMs);
      });
      const expected = spec.status ?? 200;
      // A failed self-test or readiness answers 503 with the route's own body, not a problem.
      const own = response.status === 503 && (operation === 'getSelfTest' || operation === 'getReady');
      if (response.status !== expected && !own) throw errorOf(response, text);
      if (spec.produces) return text as never;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new ApiClientError(
          response.status,
          undefined,
          `${operation}: the answer is not JSON`,
          response.headers,
        );
      }
      const parsed = spec.reply ? spec.reply.safeParse(json) : { success: true as const, data: json };
      if (!parsed.success)
        throw new ApiClientError(
          response.status,
          undefined,
          `${operation}: the answer does not match its schema: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
          response.headers,
        );
      return parsed.data as never;
    },

    async *events(eventOptions = {}) {
      const types = eventOptions.types?.length
        ? `?types=${encodeURIComponent(eventOptions.types.join(','))}`
        : '';
      let response: Response;
      try {
        response = await doFetch(`${base}/v1/events${types}`, {
          headers: {
            ...auth,
            accept: 'text/event-stream',
            ...(eventOptions.lastEventId === undefined ? {} : { 'last-event-id': eventOptions.lastEventId }),
          },
          ...(eventOptions.signal ? { signal: eventOptions.signal } : {}),
        });
      } catch (error) {
        if (eventOptions.signal?.aborted) return;
        throw error;
      }
      if (response.status !== 200 || !response.body)
        throw errorOf(response, await response.text().catch(() => ''));
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = parseEvent(block);
            if (event) yield event;
          }
        }
      } catch (error) {
        if (eventOptions.signal?.aborted) return;
        throw transportError(error, base, timeoutMs);
      }
    },
  };
}

/** One SSE block (`id:`, `event:`, `data:` lines); comments and `retry:` alone make no event. */
function parseEvent(block: string): ServerSentEvent | undefined {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length === 0 ? undefined : { id, event, data: data.join('\n') };
}

function errorOf(response: Response, text: string): ApiClientError {
  let problem: Problem | undefined;
  try {
    const json = JSON.parse(text) as Partial<Problem>;
    if (typeof json.code === 'string' && typeof json.detail === 'string') problem = json as Problem;
  } catch {
    // not JSON: reported by status below
  }
  const message = problem ? problem.detail : `HTTP ${response.status}`;
  return new ApiClientError(response.status, problem, message, response.headers);
}
