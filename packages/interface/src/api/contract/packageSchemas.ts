import { z } from 'zod';
import { PACKAGE_NAME_PATTERN } from '@forgeone/crypto';
import { JsonObject } from './shared';

/** A package name as a manifest may give it (`name`, `@scope/name`); nothing else reaches a handler. */
export const PackageNameSchema = z.string().min(1).max(214).regex(PACKAGE_NAME_PATTERN, 'not a package name');

/** A semantic version (`1.2.3`, `1.2.3-rc.1`); no path characters. */
export const PackageVersionSchema = z
  .string()
  .max(64)
  .regex(
    /^(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/,
    'not a semantic version',
  );

export const PackageParams = z.strictObject({ name: PackageNameSchema, version: PackageVersionSchema });

/** The bytes of a ForgePkg file, as uploaded (`application/octet-stream`). */
export const PackageBytesSchema = z
  .custom<Uint8Array>((value) => value instanceof Uint8Array, 'not the bytes of a package')
  .meta({ id: 'ForgePkgBytes' });

/** An installed package: what it is, what it may call, who signed it. */
export const PackageInfoSchema = z
  .object({
    name: z.string(),
    version: z.string(),
    sha256: z.string().describe('SHA-256 of the package file, lower-case hex'),
    digest: z.string().describe('the package digest its signatures cover'),
    size: z.number().int(),
    capabilities: z.array(z.string()),
    signers: z.array(z.object({ keyId: z.string(), algorithm: z.string() })),
    installedAt: z.string().describe('ISO-8601'),
  })
  .meta({ id: 'PackageInfo' });

export const PackageDetailSchema = PackageInfoSchema.extend({ manifest: JsonObject }).meta({
  id: 'PackageDetail',
});

/** A launch from an installed package instead of a development module. */
export const PackageRefSchema = z.strictObject({ name: PackageNameSchema, version: PackageVersionSchema });
