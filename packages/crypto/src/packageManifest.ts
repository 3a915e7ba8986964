import semver from 'semver';
import { z } from 'zod';
import { entryNameProblem } from './internal/entryName';

/** Package names: npm style, lower case, optionally scoped. */
export const PACKAGE_NAME_PATTERN = /^(?:@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/;

const PackageName = z
  .string()
  .min(1)
  .max(214)
  .regex(PACKAGE_NAME_PATTERN, 'must be a lower-case package name');
const Timestamp = z.iso.datetime({ message: 'must be an ISO-8601 UTC time like 2030-01-01T00:00:00Z' });
const EntryName = z.string().superRefine((name, ctx) => {
  const problem = entryNameProblem(name);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `entry name ${problem}` });
});
const Version = z
  .string()
  .max(256)
  .refine((v) => semver.valid(v) === v, 'must be a semver version like 1.2.3');
const Range = z
  .string()
  .max(256)
  .refine((r) => semver.validRange(r) !== null, 'must be a semver range like ^1.2.0');
const Capability = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-z][a-z0-9_.:/*-]*$/, 'must look like forge.log or wasi:fs.read');

export const ContentHashSchema = z.strictObject({
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

const manifestFields = {
  name: PackageName,
  version: Version,
  description: z.string().max(4096),
  author: z.string().max(512),
  created_at: Timestamp,
  expires_at: Timestamp,
  entry: EntryName,
  capabilities: z.array(Capability).max(256),
  dependencies: z.record(PackageName, Range),
  metadata: z.record(
    z.string().min(1).max(128),
    z.union([z.string().max(4096), z.number(), z.boolean(), z.null()]),
  ),
};

function checkDates(m: { created_at: string; expires_at: string }, ctx: z.RefinementCtx): void {
  if (Date.parse(m.expires_at) <= Date.parse(m.created_at)) {
    ctx.addIssue({ code: 'custom', path: ['expires_at'], message: 'must be later than created_at' });
  }
}

/** The manifest inside a ForgePkg (canonical JSON, every field present). */
export const PackageManifestSchema = z
  .strictObject({ ...manifestFields, content_hashes: z.record(EntryName, ContentHashSchema) })
  .superRefine((m, ctx) => {
    checkDates(m, ctx);
    if (!Object.hasOwn(m.content_hashes, m.entry)) {
      ctx.addIssue({ code: 'custom', path: ['entry'], message: 'must name one of the content entries' });
    }
    if (new Set(m.capabilities).size !== m.capabilities.length) {
      ctx.addIssue({ code: 'custom', path: ['capabilities'], message: 'lists a capability twice' });
    }
  });

/**
 * `forgepkg.json` in a source directory: the manifest without `content_hashes`. Optional fields
 * default: description and author empty, created_at now, expires_at a year after created_at.
 */
export const PackageSourceSchema = z.strictObject({
  name: manifestFields.name,
  version: manifestFields.version,
  entry: manifestFields.entry,
  description: manifestFields.description.optional(),
  author: manifestFields.author.optional(),
  created_at: manifestFields.created_at.optional(),
  expires_at: manifestFields.expires_at.optional(),
  capabilities: manifestFields.capabilities.optional(),
  dependencies: manifestFields.dependencies.optional(),
  metadata: manifestFields.metadata.optional(),
});

export type PackageManifest = z.infer<typeof PackageManifestSchema>;
export type PackageSource = z.infer<typeof PackageSourceSchema>;
export type ContentHash = z.infer<typeof ContentHashSchema>;
