import type { JsonValue, StoragePort } from '@forgeone/common';
import { ForgeError, isForgeError } from '@forgeone/common';

/**
 * The part of the storage port that rollback protection needs. Any StoragePort (memory, SQLite)
 * satisfies it; the CLI uses a small JSON file.
 */
export type VersionStore = Pick<StoragePort, 'getRecord' | 'putRecord'>;

/** Where the highest trusted root and revocation-list versions are kept. */
export const TRUST_STATE_NAMESPACE = 'trust-root';
/** Where installed package versions are kept (key: package name, value: { version }). */
export const INSTALLED_NAMESPACE = 'pkg-installed';

/** The `version` field of a stored record, or undefined. */
export async function readStoredVersion(
  store: VersionStore,
  namespace: string,
  key: string,
): Promise<{ value: JsonValue; record: number } | undefined> {
  const record = await store.getRecord(namespace, key);
  if (record === undefined) return undefined;
  const value = (record.value as { version?: JsonValue } | null)?.version;
  if (value === undefined) {
    throw new ForgeError('FORGE_STORAGE_CORRUPT', `record ${namespace}/${key} has no version field`);
  }
  return { value, record: record.version };
}

/**
 * Raises the stored version of `key` to `version` when `isNewer(stored)` says so, with
 * compare-and-set so two writers cannot lower it. Returns the stored value that was there.
 */
export async function raiseStoredVersion(
  store: VersionStore,
  namespace: string,
  key: string,
  version: JsonValue,
  isNewer: (stored: JsonValue) => boolean,
  extra: Record<string, JsonValue> = {},
): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await readStoredVersion(store, namespace, key);
    if (current !== undefined && !isNewer(current.value)) return;
    try {
      await store.putRecord(namespace, key, { ...extra, version }, { expectedVersion: current?.record ?? 0 });
      return;
    } catch (error) {
      if (!(isForgeError(error) && error.code === 'FORGE_STORAGE_CONFLICT')) throw error;
    }
  }
  throw new ForgeError('FORGE_STORAGE_CONFLICT', `record ${namespace}/${key} kept changing; try again`);
}
