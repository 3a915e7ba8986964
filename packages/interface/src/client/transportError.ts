import { ForgeError } from '@forgeone/common';

/** Socket error codes that mean "nothing answers there", by what they tell a user. */
const UNREACHABLE: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'host name lookup failed',
  EPIPE: 'connection closed',
  UND_ERR_SOCKET: 'connection closed by the other side',
  UND_ERR_CLOSED: 'connection closed',
};

/** The first `code` along an error's `cause` chain (fetch wraps the socket's error). */
function socketCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The innermost cause's message, first line, short (fetch says `bad port`, `invalid onRequestStart`...). */
function causeText(error: unknown): string | undefined {
  let text: string | undefined;
  for (let e = error, depth = 0; e instanceof Error && depth < 5; depth += 1) {
    text = e.message;
    e = e.cause;
  }
  const line = text?.split('\n')[0]?.slice(0, 120);
  return line === undefined || line === '' || line === 'fetch failed' ? undefined : line;
}

/**
 * A failure of the transport (not an answer of the daemon) as one coded error: no stack, no
 * internal text — the address, what happened, and what to check.
 */
export function transportError(error: unknown, base: string, timeoutMs: number): ForgeError {
  if (error instanceof ForgeError) return error;
  const name = (error as { name?: unknown } | undefined)?.name;
  if (name === 'TimeoutError')
    return new ForgeError(
      'FORGE_API_TIMEOUT',
      `${base} did not answer within ${timeoutMs} ms; check that it is a forgeoned daemon and not overloaded`,
      { details: { url: base, timeoutMs } },
    );
  const code = socketCode(error);
  const what = (code && UNREACHABLE[code]) ?? causeText(error) ?? 'the connection failed';
  return new ForgeError(
    'FORGE_API_UNREACHABLE',
    `cannot reach ${base}: ${what}${code ? ` (${code})` : ''}; check the URL and that forgeoned runs there`,
    { details: { url: base, ...(code ? { socketCode: code } : {}) } },
  );
}
