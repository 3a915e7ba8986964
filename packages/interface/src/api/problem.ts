import { z } from 'zod';
import { forgeErrorCodes, isForgeError, type ForgeError, type ForgeErrorCode } from '@forgeone/common';

/** The media type of every error answer (RFC 9457). */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** An RFC 9457 problem document, with the ForgeOne error code and the request's id. */
export const ProblemSchema = z
  .object({
    type: z.string().describe('urn:forgeone:error:<code>'),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string(),
    code: z.string(),
    instance: z.string().optional(),
    requestId: z.string().optional(),
  })
  .meta({ id: 'Problem' });
export type Problem = z.infer<typeof ProblemSchema>;

/** HTTP status of a code; codes not named fall back on their suffix, then 422 (the kernel refused the input). */
const STATUS: Partial<Record<ForgeErrorCode, number>> = {
  FORGE_INVALID_INPUT: 400,
  FORGE_NOT_FOUND: 404,
  FORGE_INTERNAL: 500,
  FORGE_UNSUPPORTED: 501,
  FORGE_API_UNAUTHENTICATED: 401,
  FORGE_API_FORBIDDEN: 403,
  FORGE_API_DEVELOPMENT_MODULE_REFUSED: 403,
  FORGE_API_RATE_LIMITED: 429,
  FORGE_API_LAUNCH_LIMIT: 429,
  FORGE_API_BODY_TOO_LARGE: 413,
  FORGE_API_UNSUPPORTED_MEDIA: 415,
  FORGE_API_NOT_AVAILABLE: 501,
  FORGE_API_TOKEN_INVALID: 400,
  FORGE_API_NO_TRUST_ROOT: 403,
  FORGE_API_PACKAGE_EXISTS: 409,
  FORGE_PKG_OVERSIZED: 413,
  FORGE_PKG_ROLLBACK: 409,
  FORGE_API_TOKEN_NOT_FOUND: 404,
  FORGE_CONTAINER_STATE: 409,
  FORGE_KERNEL_MAINTENANCE: 409,
  FORGE_KERNEL_RECOVERY: 409,
  FORGE_STORAGE_IO: 503,
  FORGE_API_POLICY_DIRECTORY: 409,
  FORGE_APPROVAL_SETTLED: 409,
  FORGE_APPROVAL_UNKNOWN: 404,
};

/** The HTTP status a ForgeError answers with. */
export function statusOfCode(code: ForgeErrorCode): number {
  const named = STATUS[code];
  if (named !== undefined) return named;
  if (code.endsWith('_NOT_FOUND')) return 404;
  if (code.endsWith('_STATE')) return 409;
  if (code.startsWith('FORGE_STORAGE_')) return 503;
  return 422;
}

/** The code a fastify (or Node) HTTP error with `status` is given when it is not a ForgeError. */
function codeOfStatus(status: number, fastifyCode: string | undefined): ForgeErrorCode {
  if (status === 401) return 'FORGE_API_UNAUTHENTICATED';
  if (status === 403) return 'FORGE_API_FORBIDDEN';
  if (status === 404) return 'FORGE_NOT_FOUND';
  if (status === 413) return 'FORGE_API_BODY_TOO_LARGE';
  if (status === 415) return 'FORGE_API_UNSUPPORTED_MEDIA';
  if (status === 429) return 'FORGE_API_RATE_LIMITED';
  if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'FORGE_API_UNSUPPORTED_MEDIA';
  return status < 500 ? 'FORGE_INVALID_INPUT' : 'FORGE_INTERNAL';
}

// An absolute file path in a message (a module's, the store's): never shown to a client.
const FILE_PATH = /(?<![\w.:/])\/(?!v1\/)(?:[\w.@+-]+\/)+[\w.@+-]*/g;

/** A message safe to show a client: one line, no file path, bounded. */
export function publicDetail(message: string): string {
  const line = message
    .replace(/\s*\n\s*/g, ' ')
    .replace(FILE_PATH, '<path>')
    .trim();
  return line.length > 1000 ? `${line.slice(0, 1000)}…` : line;
}

/**
 * Anything thrown while answering, as a problem document: a ForgeError keeps its code and message;
 * a fastify error (bad JSON, validation, body size) gets the code of its status; anything else is
 * FORGE_INTERNAL with a fixed message — never a stack, an internal message or a path.
 */
export function problemOf(error: unknown, instance?: string, requestId?: string): Problem {
  let code: ForgeErrorCode;
  let status: number;
  let detail: string;
  if (isForgeError(error)) {
    code = (error as ForgeError).code;
    status = statusOfCode(code);
    detail = status >= 500 && code === 'FORGE_INTERNAL' ? 'internal error' : error.message;
  } else {
    const e = error as { statusCode?: unknown; code?: unknown; message?: unknown; validation?: unknown };
    const http = typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 600;
    status = http ? (e.statusCode as number) : 500;
    code = codeOfStatus(status, typeof e?.code === 'string' ? e.code : undefined);
    detail = status < 500 && typeof e.message === 'string' ? e.message : 'internal error';
  }
  return {
    type: `urn:forgeone:error:${code}`,
    title: forgeErrorCodes[code],
    status,
    detail: publicDetail(detail),
    code,
    ...(instance === undefined ? {} : { instance }),
    ...(requestId === undefined ? {} : { requestId }),
  };
}
