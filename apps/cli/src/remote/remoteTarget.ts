import { readFileSync, statSync } from 'node:fs';
import { ForgeError } from '@forgeone/common';
import { parseDaemonUrl } from '@forgeone/interface';
import type { CliIo } from '../cliIo';
import { cliPath, parseIntegerFlag } from '../flagValues';

/** The daemon's URL when no --remote names one. */
export const URL_ENV = 'FORGEONE_URL';
/** The token itself, when no --token-file names a file holding it. */
export const TOKEN_ENV = 'FORGEONE_TOKEN';

/** The global flags of remote mode, as commander parses them on the program. */
export interface RemoteFlags {
  remote?: string;
  tokenFile?: string;
  remoteTimeout?: string;
}

/** Where the CLI talks to, and with which token. */
export interface RemoteTarget {
  readonly url: string;
  readonly token: string | undefined;
  readonly timeoutMs: number;
}

/** Most bytes a token file may have: a token is one short line (`fo1_...`). */
const TOKEN_FILE_MAX_BYTES = 4096;
/** A bearer token: printable ASCII without spaces (what `forgeoned token create` prints is fo1_ + base64url). */
const TOKEN_TEXT = /^[\x21-\x7e]{8,512}$/;
/** Each API call's deadline without --remote-timeout, ms. */
export const DEFAULT_REMOTE_TIMEOUT_MS = 30_000;

/** The daemon and token of this command line: flags beat the environment. */
export function remoteTarget(io: CliIo, flags: RemoteFlags): RemoteTarget {
  const urlText = flags.remote ?? io.env(URL_ENV);
  if (urlText === undefined || urlText === '')
    throw new ForgeError('FORGE_CLI_REMOTE_REQUIRED', `give --remote URL (or set $${URL_ENV})`);
  const url = parseDaemonUrl(urlText);
  const token = flags.tokenFile !== undefined ? readTokenFile(cliPath(io, flags.tokenFile)) : envToken(io);
  const timeoutMs =
    flags.remoteTimeout === undefined
      ? DEFAULT_REMOTE_TIMEOUT_MS
      : parseIntegerFlag(flags.remoteTimeout, '--remote-timeout', 1, 600_000);
  return { url, token, timeoutMs };
}

function envToken(io: CliIo): string | undefined {
  const text = io.env(TOKEN_ENV)?.trim();
  if (text === undefined || text === '') return undefined;
  if (!TOKEN_TEXT.test(text))
    throw new ForgeError(
      'FORGE_CLI_TOKEN_FILE_INVALID',
      `$${TOKEN_ENV} does not hold a token (one word of printable characters, as forgeoned token create prints it)`,
    );
  return text;
}

/**
 * Reads a token file as ssh reads a private key: a regular file that no group or other user may
 * read or write (FORGE_CLI_TOKEN_FILE_INSECURE: chmod 600 it), holding one token on one line.
 */
export function readTokenFile(path: string): string {
  let info;
  try {
    info = statSync(path);
  } catch (error) {
    throw new ForgeError(
      'FORGE_CLI_TOKEN_FILE_INVALID',
      `cannot read the token file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      { details: { path } },
    );
  }
  if (!info.isFile())
    throw new ForgeError('FORGE_CLI_TOKEN_FILE_INVALID', `the token file ${path} is not a regular file`, {
      details: { path },
    });
  const shared = info.mode & 0o077;
  if (process.platform !== 'win32' && shared !== 0)
    throw new ForgeError(
      'FORGE_CLI_TOKEN_FILE_INSECURE',
      `the token file ${path} has mode ${(info.mode & 0o777).toString(8).padStart(3, '0')}: other users may read it; run chmod 600 ${path}`,
      { details: { path, mode: info.mode & 0o777 } },
    );
  if (info.size > TOKEN_FILE_MAX_BYTES)
    throw new ForgeError(
      'FORGE_CLI_TOKEN_FILE_INVALID',
      `the token file ${path} has ${info.size} bytes: a token file holds one token (at most ${TOKEN_FILE_MAX_BYTES} bytes)`,
      { details: { path } },
    );
  const text = readFileSync(path, 'utf8').trim();
  if (!TOKEN_TEXT.test(text))
    throw new ForgeError(
      'FORGE_CLI_TOKEN_FILE_INVALID',
      `the token file ${path} does not hold one token on one line (save the last line forgeoned token create prints)`,
      { details: { path } },
    );
  return text;
}
