import { ForgeError, type StoragePort } from '@forgeone/common';
import { sha256Hex } from '@forgeone/crypto';
import type { z } from 'zod';
import type { PackageDetailSchema } from './contract/packageSchemas';

/**
 * Where installed packages are described: one record per `name@version` (the reply of inspect).
 * The bytes are a content-addressed blob of the kernel's store (`putBlob`, keyed by their SHA-256),
 * not base64 in a record: a package may be far larger than a record's 1 MiB.
 */
export const PACKAGES_NAMESPACE = 'api.packages';

export type PackageDetail = z.input<typeof PackageDetailSchema>;

/** The record of `name@version`, or FORGE_API_PACKAGE_NOT_FOUND. */
export async function installedPackage(
  store: StoragePort,
  name: string,
  version: string,
): Promise<PackageDetail> {
  const record = await store.getRecord(PACKAGES_NAMESPACE, packageKey(name, version));
  if (record === undefined)
    throw new ForgeError('FORGE_API_PACKAGE_NOT_FOUND', `no installed package ${name}@${version}`);
  return record.value as unknown as PackageDetail;
}

/** The bytes of an installed package, checked against the SHA-256 recorded when it was installed. */
export async function installedPackageBytes(
  store: StoragePort,
  name: string,
  version: string,
): Promise<Uint8Array> {
  const info = await installedPackage(store, name, version);
  const bytes = await store.getBlob(info.sha256);
  if (bytes === undefined || sha256Hex(bytes) !== info.sha256)
    throw new ForgeError(
      'FORGE_STORAGE_CORRUPT',
      `the stored bytes of ${name}@${version} are missing or damaged`,
    );
  return bytes;
}

/** The record key of `name@version`. */
export function packageKey(name: string, version: string): string {
  return `${name}@${version}`;
}
