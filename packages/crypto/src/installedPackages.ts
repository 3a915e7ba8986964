import semver from 'semver';
import { ForgeError } from '@forgeone/common';
import type { PackageManifest } from './packageManifest';
import {
  INSTALLED_NAMESPACE,
  raiseStoredVersion,
  readStoredVersion,
  type VersionStore,
} from './versionStore';

/**
 * Records `manifest` as installed (namespace `pkg-installed`), so later verifications refuse older
 * versions. Compare-and-set: never lowers a version, even with concurrent writers.
 */
export async function recordInstalled(
  store: VersionStore,
  manifest: Pick<PackageManifest, 'name' | 'version'>,
): Promise<void> {
  const installed = await installedVersion(store, manifest.name);
  if (installed !== undefined && semver.lt(manifest.version, installed)) {
    throw new ForgeError(
      'FORGE_PKG_ROLLBACK',
      `${manifest.name}@${manifest.version} is older than the installed ${installed}`,
    );
  }
  await raiseStoredVersion(
    store,
    INSTALLED_NAMESPACE,
    manifest.name,
    manifest.version,
    (stored) =>
      typeof stored !== 'string' || semver.valid(stored) === null || semver.gt(manifest.version, stored),
  );
}

/** The installed version of package `name`, or undefined. */
export async function installedVersion(store: VersionStore, name: string): Promise<string | undefined> {
  const stored = await readStoredVersion(store, INSTALLED_NAMESPACE, name);
  if (stored === undefined) return undefined;
  if (typeof stored.value !== 'string' || semver.valid(stored.value) === null) {
    throw new ForgeError('FORGE_STORAGE_CORRUPT', `installed version of ${name} is not a semver version`);
  }
  return stored.value;
}
