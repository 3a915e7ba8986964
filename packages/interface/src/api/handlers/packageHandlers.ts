import { ForgeError, isForgeError, type JsonValue, type StoragePort } from '@forgeone/common';
import { recordInstalled, sha256Hex, verifyPackage, type TrustRoot } from '@forgeone/crypto';
import type { ApiContext, Handlers } from '../apiContext';
import type { packageRoutes } from '../contract/packageRoutes';
import { PACKAGES_NAMESPACE, installedPackage, packageKey, type PackageDetail } from '../installedPackages';

/** The store and trust root a package route needs, or the code that says which is missing. */
export function packageParts(ctx: ApiContext): { store: StoragePort; trustRoot: TrustRoot } {
  const { store, boot } = ctx.kernel;
  if (!boot?.root || ctx.trustRoot === undefined)
    throw new ForgeError(
      'FORGE_API_NO_TRUST_ROOT',
      'this kernel verifies no package: it booted without a trust root; boot it on a root.json',
    );
  if (store === undefined)
    throw new ForgeError('FORGE_API_NOT_AVAILABLE', 'this kernel has no store to install packages in');
  return { store, trustRoot: ctx.trustRoot };
}

/** Upload (verify, then store), list, inspect and remove installed packages. */
export function packageHandlers(ctx: ApiContext): Handlers<typeof packageRoutes> {
  const store = (): StoragePort => {
    if (ctx.kernel.store) return ctx.kernel.store;
    throw new ForgeError(
      'FORGE_API_NOT_AVAILABLE',
      'this kernel has no store, so it has no installed packages',
    );
  };
  return {
    uploadPackage: async ({ body }, call) => {
      const parts = packageParts(ctx);
      const bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
      // Signatures, expiry, manifest, content hashes and the rollback floor, all before anything is stored.
      const verified = await verifyPackage(bytes, {
        trustRoot: parts.trustRoot,
        clock: ctx.kernel.clock,
        store: parts.store,
      });
      if (!verified.ok || verified.manifest === undefined || verified.digest === undefined)
        throw new ForgeError(
          verified.code === 'OK' ? 'FORGE_PKG_MALFORMED' : verified.code,
          `package refused: ${verified.message}`,
        );
      const { manifest } = verified;
      const sha256 = sha256Hex(bytes);
      const detail: PackageDetail = {
        name: manifest.name,
        version: manifest.version,
        sha256,
        digest: verified.digest,
        size: bytes.length,
        capabilities: [...manifest.capabilities],
        signers: verified.signers.map(({ keyId, algorithm }) => ({ keyId, algorithm })),
        installedAt: new Date(ctx.kernel.clock.now()).toISOString(),
        manifest: JSON.parse(JSON.stringify(manifest)) as Record<string, unknown>,
      };
      const key = packageKey(manifest.name, manifest.version);
      try {
        // One transaction: the bytes, their record and the raised rollback floor, or none of them.
        await parts.store.transaction(async (tx) => {
          if ((await tx.getRecord(PACKAGES_NAMESPACE, key)) !== undefined) throw exists(key);
          await tx.putBlob(bytes);
          await tx.putRecord(PACKAGES_NAMESPACE, key, detail as unknown as JsonValue, { expectedVersion: 0 });
          await recordInstalled(tx, manifest);
        });
      } catch (error) {
        if (isForgeError(error) && error.code === 'FORGE_STORAGE_CONFLICT') throw exists(key);
        throw error;
      }
      const { manifest: _manifest, ...info } = detail;
      return { ...info, requestId: call.requestId };
    },
    listPackages: async ({ query }) => {
      const limit = query.limit ?? 1000;
      const records = await store().listRecords(PACKAGES_NAMESPACE, { limit });
      return {
        packages: records.map((r) => {
          const { manifest: _manifest, ...info } = r.value as unknown as PackageDetail;
          return info;
        }),
      };
    },
    getPackage: async ({ params }) => installedPackage(store(), params.name, params.version),
    removePackage: async ({ params }) => {
      const target = store();
      const info = await installedPackage(target, params.name, params.version);
      await target.transaction(async (tx) => {
        await tx.deleteRecord(PACKAGES_NAMESPACE, packageKey(params.name, params.version));
        // The bytes are content-addressed: the same file is one name@version, so no other record holds them.
        await tx.deleteBlob(info.sha256);
      });
      return { ok: true };
    },
  };
}

function exists(key: string): ForgeError {
  return new ForgeError(
    'FORGE_API_PACKAGE_EXISTS',
    `${key} is already installed; remove it first, or upload a newer version`,
  );
}
