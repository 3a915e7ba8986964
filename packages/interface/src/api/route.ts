import type { z } from 'zod';
import type { RouteAccess } from './roles';

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

/**
 * One route of the API, declared once: the server registers it on fastify with these schemas,
 * the OpenAPI document is generated from them, and the typed client calls through them.
 */
export interface RouteSpec {
  readonly method: HttpMethod;
  /** The path in fastify's form (`/v1/containers/:id`); OpenAPI gets `{id}`. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  /** Who may call it. */
  readonly access: RouteAccess;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  /** The body's media type when it is not JSON (the raw bytes reach the body schema). */
  readonly consumes?: 'application/octet-stream';
  /** The success answer's JSON body; absent for a route that answers another media type. */
  readonly reply?: z.ZodType;
  /** The success status. Default 200. */
  readonly status?: 200 | 201;
  /** A non-JSON answer: its media type (the body is not checked against a schema). */
  readonly produces?: 'text/event-stream' | 'text/plain; version=0.0.4; charset=utf-8';
  /** Largest body, bytes (the server default otherwise). */
  readonly bodyLimit?: number;
}

/** Declares a route; the literal type is kept, so handlers and the client see its exact schemas. */
export function defineRoute<const S extends RouteSpec>(spec: S): S {
  return spec;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;
type In<S> = S extends z.ZodType ? z.input<S> : undefined;

/** What a handler of `S` receives, parsed. */
export interface RouteInput<S extends RouteSpec> {
  readonly params: Out<S['params']>;
  readonly query: Out<S['query']>;
  readonly body: Out<S['body']>;
}

/** What a handler of `S` returns (before the reply schema's output). */
export type RouteReply<S extends RouteSpec> = S['reply'] extends z.ZodType ? z.input<S['reply']> : unknown;

/** What a client sends for `S` (the schemas' input types); keys without a schema are absent. */
export type RouteRequest<S extends RouteSpec> = (S['params'] extends z.ZodType
  ? { readonly params: In<S['params']> }
  : { readonly params?: undefined }) &
  (S['query'] extends z.ZodType ? { readonly query?: In<S['query']> } : { readonly query?: undefined }) &
  (S['body'] extends z.ZodType
    ? undefined extends In<S['body']>
      ? { readonly body?: In<S['body']> }
      : { readonly body: In<S['body']> }
    : { readonly body?: undefined });

/** What a client gets back for `S`. */
export type RouteResult<S extends RouteSpec> = S['reply'] extends z.ZodType ? z.output<S['reply']> : string;

/** `/v1/containers/:id` → `/v1/containers/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
