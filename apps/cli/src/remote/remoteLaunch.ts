import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { ForgeError, isForgeError } from '@forgeone/common';
import { inspectPackage, readPackageFile } from '@forgeone/crypto';
import type { ApiRoutes, RouteRequest } from '@forgeone/interface';
import { usageError, type CliIo } from '../cliIo';
import { cliPath } from '../flagValues';
import type { RemoteSession } from './remoteSession';

type LaunchBody = NonNullable<RouteRequest<ApiRoutes['launchContainer']>['body']>;
/** What a launch runs: an installed package, or a development module's bytes. */
export type LaunchSource = Pick<LaunchBody, 'package' | 'module' | 'format'>;

/** `name@version`, `@scope/name@version`: an installed package (its form is checked by the daemon). */
const INSTALLED = /^(@?[^@\s]+)@([^@\s]+)$/;
/** Largest development module sent, bytes (the launch route's limit, before base64). */
const MAX_MODULE_BYTES = 16 * 1024 * 1024;

/**
 * What `run <target>` launches: `name@version` an installed package; a `.forgepkg` file is
 * installed first (unless the same file already is: a different one of that version is refused);
 * a `.wasm` or `.wat` file is a development module (the daemon refuses it when booted on a root).
 */
export async function launchSource(io: CliIo, remote: RemoteSession, target: string): Promise<LaunchSource> {
  const ext = extname(target).toLowerCase();
  if (ext === '.wasm' || ext === '.wat') {
    const path = cliPath(io, target);
    const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
      throw new ForgeError('FORGE_CLI_FILE_UNREADABLE', `cannot read ${path}: ${error.code ?? 'error'}`, {
        details: { path },
      });
    });
    if (bytes.length > MAX_MODULE_BYTES)
      throw usageError(
        `${path} has ${bytes.length} bytes; a development module sent to a daemon has at most ${MAX_MODULE_BYTES}`,
      );
    return { module: bytes.toString('base64'), format: ext === '.wat' ? 'wat' : 'wasm' };
  }
  if (ext === '.forgepkg') return { package: await installed(io, remote, target) };
  const match = INSTALLED.exec(target);
  if (match === null)
    throw usageError(
      `run takes an installed package as name@version, or a .forgepkg, .wasm or .wat file; got ${JSON.stringify(target.slice(0, 80))}`,
    );
  return { package: { name: match[1]!, version: match[2]! } };
}

/** Installs a package file on the daemon unless that very file is installed; its name and version. */
async function installed(io: CliIo, remote: RemoteSession, file: string) {
  const bytes = await readPackageFile(cliPath(io, file));
  const { name, version } = inspectPackage(bytes).manifest;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  try {
    const have = await remote.call('getPackage', { params: { name, version } });
    if (have.sha256 !== sha256)
      throw new ForgeError(
        'FORGE_API_PACKAGE_EXISTS',
        `the daemon has another file installed as ${name}@${version} (sha256 ${have.sha256.slice(0, 12)}..., this one ${sha256.slice(0, 12)}...); give the package a new version`,
        { details: { name, version } },
      );
  } catch (error) {
    if (!isForgeError(error) || error.code !== 'FORGE_API_PACKAGE_NOT_FOUND') throw error;
    await remote.call('uploadPackage', { body: bytes });
  }
  return { name, version };
}
