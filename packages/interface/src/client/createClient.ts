import { ForgeError } from '@forgeone/common';
import { createApiClient, type ApiClient, type ApiClientOptions } from './createApiClient';

/** `createClient`'s options: the daemon's `url` (the issue's name for ApiClientOptions.baseUrl). */
export interface ClientOptions extends Omit<ApiClientOptions, 'baseUrl'> {
  /** Where the daemon listens: an http(s) URL of a host (`http://127.0.0.1:7460`), no path beyond `/`. */
  readonly url: string;
}

/**
 * The daemon's base URL, checked: http or https, a host, no credentials (a password in a URL ends
 * up in shell history and process lists), no query or fragment. FORGE_API_CLIENT_URL_INVALID else.
 */
export function parseDaemonUrl(text: string): string {
  const shown = JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
  const invalid = (why: string) =>
    new ForgeError(
      'FORGE_API_CLIENT_URL_INVALID',
      `the daemon URL ${shown} ${why} (e.g. http://127.0.0.1:7460)`,
    );
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('is not http:// or https://');
  if (url.hostname === '') throw invalid('names no host');
  if (url.username !== '' || url.password !== '')
    throw invalid('carries credentials: give the token in a token file instead');
  if (url.search !== '' || url.hash !== '') throw invalid('has a query or fragment');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** A typed client of the /v1 API (createApiClient, taking `url`): `createClient({ url, token })`. */
export function createClient(options: ClientOptions): ApiClient {
  const { url, ...rest } = options;
  return createApiClient({ ...rest, baseUrl: parseDaemonUrl(url) });
}
