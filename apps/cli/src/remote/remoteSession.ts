import { ForgeError } from '@forgeone/common';
import {
  ApiClientError,
  createClient,
  type ApiClient,
  type ApiOperation,
  type ApiRoutes,
  type RouteRequest,
  type RouteResult,
} from '@forgeone/interface';
import type { CliIo } from '../cliIo';
import { remoteTarget, type RemoteFlags, type RemoteTarget } from './remoteTarget';

/** A command's connection to the daemon: every call goes through the typed client. */
export interface RemoteSession {
  readonly target: RemoteTarget;
  readonly client: ApiClient;
  /** One API call; a refusal of the daemon becomes one ForgeError with its code, status and address. */
  call<K extends ApiOperation>(
    operation: K,
    request?: RouteRequest<ApiRoutes[K]>,
  ): Promise<RouteResult<ApiRoutes[K]>>;
}

/** Opens the session of a command line (nothing is sent until a call). */
export function openRemoteSession(io: CliIo, flags: RemoteFlags): RemoteSession {
  const target = remoteTarget(io, flags);
  const client = createClient({
    url: target.url,
    timeoutMs: target.timeoutMs,
    ...(target.token === undefined ? {} : { token: target.token }),
  });
  return {
    target,
    client,
    call: async (operation, request) => {
      try {
        return await client.call(operation, request);
      } catch (error) {
        throw remoteError(error, target.url);
      }
    },
  };
}

/**
 * The daemon's problem document as the CLI's one-line error: its code, its detail, the HTTP
 * status and, for a 429, when to try again. Anything else (a transport error) passes as it is.
 */
export function remoteError(error: unknown, url: string): unknown {
  if (!(error instanceof ApiClientError)) return error;
  const retry = error.status === 429 ? error.headers.get('retry-after') : null;
  const hint =
    error.status === 401 && error.code === 'FORGE_API_UNAUTHENTICATED'
      ? '; give a valid token with --token-file or $FORGEONE_TOKEN'
      : '';
  return new ForgeError(
    error.code,
    `${error.message} (HTTP ${error.status} from ${url}${retry ? `; retry after ${retry} s` : ''})${hint}`,
    {
      details: {
        status: error.status,
        ...(error.problem?.requestId ? { requestId: error.problem.requestId } : {}),
      },
    },
  );
}

/** How a remote command gets its session: opened at its first use, so `--help` needs no daemon. */
export type SessionOf = () => RemoteSession;
