import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { ForgeError } from '@forgeone/common';
import type { ApiTlsOptions } from '@forgeone/interface';

/** The listener's TLS files, as given on the command line. */
export interface DaemonTlsFiles {
  /** PEM certificate chain of the listener. */
  readonly certFile?: string;
  /** PEM private key of that certificate. */
  readonly keyFile?: string;
  /** PEM CA certificates: given, every client must present a certificate they signed (mutual TLS). */
  readonly clientCaFile?: string;
}

/**
 * Reads and checks the TLS files: a certificate needs its key (and the key a certificate), a
 * client CA needs both, each file must be PEM that loads, and the key must be the certificate's.
 * Refused with FORGE_DAEMON_TLS_OPTIONS (a combination that cannot work) or
 * FORGE_DAEMON_TLS_INVALID (a file that does not load); no TLS files is plain HTTP (undefined).
 */
export function readTlsFiles(files: DaemonTlsFiles): ApiTlsOptions | undefined {
  const { certFile, keyFile, clientCaFile } = files;
  if (certFile === undefined && keyFile === undefined) {
    if (clientCaFile !== undefined)
      throw new ForgeError(
        'FORGE_DAEMON_TLS_OPTIONS',
        '--tls-client-ca needs --tls-cert and --tls-key: client certificates are asked for only over TLS',
      );
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined)
    throw new ForgeError(
      'FORGE_DAEMON_TLS_OPTIONS',
      `${certFile === undefined ? '--tls-key needs --tls-cert' : '--tls-cert needs --tls-key'}: give the certificate and its private key together`,
    );
  const cert = readPem(certFile, 'certificate', /-----BEGIN CERTIFICATE-----/);
  const key = readPem(keyFile, 'private key', /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/);
  const clientCa =
    clientCaFile === undefined
      ? undefined
      : readPem(clientCaFile, 'client CA certificate', /-----BEGIN CERTIFICATE-----/);
  try {
    createSecureContext({ cert, key, ...(clientCa === undefined ? {} : { ca: clientCa }) });
  } catch (error) {
    throw new ForgeError(
      'FORGE_DAEMON_TLS_INVALID',
      `TLS files ${certFile} and ${keyFile} do not load together: ${tlsReason(error)}`,
      { cause: error },
    );
  }
  return { cert, key, ...(clientCa === undefined ? {} : { clientCa }) };
}

function readPem(file: string, what: string, begin: RegExp): string {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ForgeError(
      'FORGE_DAEMON_TLS_INVALID',
      `cannot read the TLS ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { cause: error },
    );
  }
  if (!begin.test(text)) throw new ForgeError('FORGE_DAEMON_TLS_INVALID', `${path} is not a PEM ${what}`);
  return text;
}

/** OpenSSL's reason without its internal prefix (`error:0A00...:SSL routines::`). */
function tlsReason(error: unknown): string {
  const message = (error as Error).message ?? String(error);
  return message.replace(/^error:[0-9A-F]+:[^:]*:[^:]*:/i, '');
}
