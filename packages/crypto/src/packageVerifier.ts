import semver from 'semver';
import { ForgeError, isForgeError, systemClock, type Clock, type ForgeErrorCode } from '@forgeone/common';
import { isCanonicalJson, parseJson } from './canonicalJson';
import {
  defaultForgePkgLimits,
  packageDigest,
  packageSigningMessage,
  parsePackage,
  type ForgePkgLimits,
  type ParsedPackage,
} from './forgePkgCodec';
import { sha256Hex } from './hash';
import { PackageManifestSchema, type PackageManifest } from './packageManifest';
import type { TrustRoot } from './trustRoot';
import { installedVersion } from './installedPackages';
import type { VersionStore } from './versionStore';
import { toHex } from './internal/bytes';
import { entryNameProblem } from './internal/entryName';
import { describeUnmet, evaluateThreshold } from './internal/signatureSet';

/** The checks of a package validation, in the order they run. */
export const packageCheckNames = [
  'size',
  'structure',
  'entry-names',
  'duplicate-entries',
  'manifest-canonical',
  'manifest-schema',
  'content',
  'signatures',
  'threshold',
  'validity',
  'rollback',
  'dependencies',
] as const;
export type PackageCheckName = (typeof packageCheckNames)[number];

export interface ValidationCheck {
  readonly name: PackageCheckName;
  readonly outcome: 'pass' | 'fail' | 'skipped';
  /** The failure code, on `fail`. */
  readonly code?: ForgeErrorCode;
  readonly message: string;
}

/** The outcome of validating a package: every check, and the first failure's code. */
export interface ValidationResult {
  readonly ok: boolean;
  readonly code: ForgeErrorCode | 'OK';
  readonly message: string;
  readonly checks: readonly ValidationCheck[];
  /** Present once the manifest passed its schema. */
  readonly manifest?: PackageManifest;
  /** Hex SHA-256 of header + manifest, once the structure parsed. */
  readonly digest?: string;
  /** Keys whose signatures counted toward the threshold. */
  readonly signers: ReadonlyArray<{ readonly keyId: string; readonly algorithm: string }>;
}

export interface VerifyPackageOptions {
  /** A verified trust root (see loadTrustRoot); its packages role decides who may sign. */
  readonly trustRoot: TrustRoot;
  readonly clock?: Clock;
  /**
   * Installed package versions (namespace `pkg-installed`). Without a store the rollback check is
   * skipped and any declared dependency is unsatisfied (fail closed).
   */
  readonly store?: VersionStore;
  readonly limits?: ForgePkgLimits;
}

class Checks {
  readonly list: ValidationCheck[] = [];
  pass(name: PackageCheckName, message: string): void {
    this.list.push({ name, outcome: 'pass', message });
  }
  fail(name: PackageCheckName, code: ForgeErrorCode, message: string): void {
    this.list.push({ name, outcome: 'fail', code, message });
  }
  skip(name: PackageCheckName, message: string): void {
    this.list.push({ name, outcome: 'skipped', message });
  }
  failed(name: PackageCheckName): boolean {
    return this.list.some((c) => c.name === name && c.outcome !== 'pass');
  }
}

/**
 * Validates a package against a trust root, fail-closed. Never throws for a bad package: the
 * result lists every check; `code` is the first failure's (FORGE_PKG_*), or `OK`.
 */
export async function verifyPackage(
  bytes: Uint8Array,
  options: VerifyPackageOptions,
): Promise<ValidationResult> {
  const limits = options.limits ?? defaultForgePkgLimits;
  const checks = new Checks();
  const result = (extra: {
    manifest?: PackageManifest;
    digest?: string;
    signers?: ValidationResult['signers'];
  }): ValidationResult => {
    const failure = checks.list.find((c) => c.outcome === 'fail');
    for (const name of packageCheckNames) {
      if (!checks.list.some((c) => c.name === name)) checks.skip(name, 'not run: an earlier check failed');
    }
    return {
      ok: failure === undefined,
      code: failure?.code ?? 'OK',
      message: failure === undefined ? 'the package is valid' : `${failure.name}: ${failure.message}`,
      checks: packageCheckNames.map((name) => checks.list.find((c) => c.name === name) as ValidationCheck),
      ...(extra.manifest === undefined ? {} : { manifest: extra.manifest }),
      ...(extra.digest === undefined ? {} : { digest: extra.digest }),
      signers: extra.signers ?? [],
    };
  };

  // size + structure
  if (!(bytes instanceof Uint8Array) || bytes.length > limits.maxTotalBytes) {
    checks.fail(
      'size',
      'FORGE_PKG_OVERSIZED',
      `the package is larger than the limit of ${limits.maxTotalBytes} bytes`,
    );
    return result({});
  }
  checks.pass('size', `${bytes.length} bytes (limit ${limits.maxTotalBytes})`);
  let parsed: ParsedPackage;
  try {
    parsed = parsePackage(bytes, limits);
  } catch (error) {
    const e = asForgeError(error, 'FORGE_PKG_MALFORMED');
    checks.fail('structure', e.code, e.message);
    return result({});
  }
  checks.pass(
    'structure',
    `format v${parsed.formatVersion}, ${parsed.entries.length} entries, ${parsed.signatures.length} signatures`,
  );
  const digestBytes = packageDigest(parsed);
  const digest = toHex(digestBytes);

  // entry names (content section and manifest keys) + duplicates
  let manifestJson: unknown;
  let manifestJsonError: ForgeError | undefined;
  try {
    manifestJson = parseJson(parsed.manifestBytes, limits.maxManifestBytes, 'the manifest');
  } catch (error) {
    manifestJsonError = asForgeError(error, 'FORGE_PKG_MANIFEST_INVALID');
  }
  const declaredNames = contentHashNames(manifestJson);
  const badName = [...parsed.entries.map((e) => e.name), ...declaredNames]
    .map((name) => ({ name, problem: entryNameProblem(name) }))
    .find((n) => n.problem !== undefined);
  if (badName !== undefined) {
    checks.fail(
      'entry-names',
      'FORGE_PKG_ENTRY_NAME',
      `entry name "${badName.name.slice(0, 200)}" ${badName.problem}`,
    );
  } else {
    checks.pass('entry-names', 'every entry name is a safe relative path');
  }
  const seen = new Set<string>();
  const duplicate = parsed.entries.find((e) => (seen.has(e.name) ? true : (seen.add(e.name), false)));
  if (duplicate !== undefined) {
    checks.fail(
      'duplicate-entries',
      'FORGE_PKG_DUPLICATE_ENTRY',
      `entry "${duplicate.name.slice(0, 200)}" appears more than once`,
    );
  } else {
    checks.pass('duplicate-entries', 'no entry name repeats');
  }

  // manifest
  if (manifestJsonError !== undefined) {
    checks.fail(
      'manifest-canonical',
      'FORGE_PKG_MANIFEST_INVALID',
      `the manifest is not JSON: ${manifestJsonError.message}`,
    );
    return result({ digest });
  }
  let canonical: boolean;
  try {
    canonical = isCanonicalJson(parsed.manifestBytes, manifestJson);
  } catch {
    canonical = false;
  }
  if (!canonical) {
    checks.fail(
      'manifest-canonical',
      'FORGE_PKG_NON_CANONICAL',
      'the manifest bytes are not RFC 8785 canonical JSON (key order, whitespace, number or string form)',
    );
  } else {
    checks.pass('manifest-canonical', 'the manifest is canonical JSON');
  }
  const schema = PackageManifestSchema.safeParse(manifestJson);
  if (!schema.success) {
    const issue = schema.error.issues[0];
    checks.fail(
      'manifest-schema',
      'FORGE_PKG_MANIFEST_INVALID',
      `at ${issue?.path.map(String).join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
    return result({ digest });
  }
  const manifest = schema.data;
  checks.pass('manifest-schema', `${manifest.name}@${manifest.version}`);

  // content
  if (checks.failed('entry-names') || checks.failed('duplicate-entries')) {
    checks.skip('content', 'not run: entry names are unsafe or repeat');
  } else {
    checks.list.push(checkContent(parsed, manifest));
  }

  // signatures + threshold
  const signers = checkSignatures(parsed, digestBytes, options.trustRoot, checks);

  // validity window
  const now = (options.clock ?? systemClock).now();
  if (Date.parse(manifest.expires_at) <= now) {
    checks.fail('validity', 'FORGE_PKG_EXPIRED', `the package expired at ${manifest.expires_at}`);
  } else if (Date.parse(manifest.created_at) > now) {
    checks.fail(
      'validity',
      'FORGE_PKG_NOT_YET_VALID',
      `the package is valid only from ${manifest.created_at}`,
    );
  } else {
    checks.pass('validity', `valid until ${manifest.expires_at}`);
  }

  // rollback + dependencies (storage port)
  await checkInstalled(manifest, options.store, checks);
  return result({ manifest, digest, signers });
}

/** Throws the ForgeError of a failed validation; returns the manifest of a valid one. */
export function assertValid(result: ValidationResult): PackageManifest {
  if (result.ok && result.manifest !== undefined) return result.manifest;
  throw new ForgeError(result.code === 'OK' ? 'FORGE_INTERNAL' : result.code, result.message, {
    details: {
      failed: result.checks
        .filter((c) => c.outcome === 'fail')
        .map((c) => c.name)
        .join(','),
    },
  });
}

function checkContent(parsed: ParsedPackage, manifest: PackageManifest): ValidationCheck {
  const present = new Map(parsed.entries.map((e) => [e.name, e.data] as const));
  for (const name of Object.keys(manifest.content_hashes)) {
    if (!present.has(name))
      return {
        name: 'content',
        outcome: 'fail',
        code: 'FORGE_PKG_MISSING_CONTENT',
        message: `the manifest lists "${name.slice(0, 200)}" but the package does not contain it`,
      };
  }
  for (const entry of parsed.entries) {
    const declared = manifest.content_hashes[entry.name];
    if (declared === undefined)
      return {
        name: 'content',
        outcome: 'fail',
        code: 'FORGE_PKG_EXTRA_CONTENT',
        message: `the package contains "${entry.name.slice(0, 200)}", which the manifest does not list`,
      };
    if (declared.size !== entry.data.length || sha256Hex(entry.data) !== declared.sha256) {
      return {
        name: 'content',
        outcome: 'fail',
        code: 'FORGE_PKG_HASH_MISMATCH',
        message: `"${entry.name.slice(0, 200)}" does not match its SHA-256 or size in the manifest`,
      };
    }
  }
  return { name: 'content', outcome: 'pass', message: `${parsed.entries.length} entries match their hashes` };
}

function checkSignatures(
  parsed: ParsedPackage,
  digest: Uint8Array,
  root: TrustRoot,
  checks: Checks,
): ValidationResult['signers'] {
  const role = root.roles.packages;
  if (parsed.signatures.length === 0) {
    checks.fail(
      'signatures',
      'FORGE_PKG_UNSIGNED',
      'the package carries no signature; sign it with `forgeone sign`',
    );
    checks.skip('threshold', 'not run: no signatures');
    return [];
  }
  const outcome = evaluateThreshold(
    role,
    root.keys,
    parsed.signatures.map((s) => ({ keyId: s.keyId, algorithm: s.algorithm, signature: s.signature })),
    packageSigningMessage(digest),
    root.registry,
    root.revoked,
  );
  const problems: Record<string, { code: ForgeErrorCode; text: string }> = {
    'not-in-role': { code: 'FORGE_PKG_UNKNOWN_SIGNER', text: 'is not a key of the packages role' },
    revoked: { code: 'FORGE_PKG_KEY_REVOKED', text: 'is revoked' },
    bad: { code: 'FORGE_PKG_BAD_SIGNATURE', text: 'made a signature that does not verify' },
    duplicate: { code: 'FORGE_PKG_DUPLICATE_SIGNATURE', text: 'signed more than once' },
  };
  // Report the most telling problem first: revoked and unknown keys before bad signatures.
  for (const status of ['revoked', 'not-in-role', 'bad', 'duplicate'] as const) {
    const index = outcome.statuses.indexOf(status);
    if (index < 0) continue;
    const sig = parsed.signatures[index];
    const problem = problems[status] as { code: ForgeErrorCode; text: string };
    checks.fail(
      'signatures',
      problem.code,
      `key ${sig?.keyId ?? '?'} (${sig?.algorithm ?? '?'}) ${problem.text}`,
    );
    break;
  }
  if (!checks.failed('signatures'))
    checks.pass('signatures', `${parsed.signatures.length} signature(s) verify`);
  const signers = parsed.signatures
    .filter((_, i) => outcome.statuses[i] === 'counted')
    .map((s) => ({ keyId: s.keyId, algorithm: s.algorithm }));
  if (outcome.met) {
    checks.pass(
      'threshold',
      `met: ${Object.entries(role.threshold)
        .map(([a, n]) => `${a} ${outcome.counts[a] ?? 0}/${n}`)
        .join(', ')}`,
    );
  } else {
    checks.fail(
      'threshold',
      'FORGE_PKG_THRESHOLD',
      `not met for ${describeUnmet(outcome.unmet)} (valid signatures / required)`,
    );
  }
  return signers;
}

async function checkInstalled(
  manifest: PackageManifest,
  store: VersionStore | undefined,
  checks: Checks,
): Promise<void> {
  if (store === undefined) {
    checks.skip('rollback', 'no installed-package store given');
  } else {
    try {
      const installed = await installedVersion(store, manifest.name);
      if (installed !== undefined && semver.lt(manifest.version, installed)) {
        checks.fail(
          'rollback',
          'FORGE_PKG_ROLLBACK',
          `${manifest.name}@${manifest.version} is older than the installed ${installed}`,
        );
      } else {
        checks.pass(
          'rollback',
          installed === undefined ? 'not installed before' : `installed ${installed} <= ${manifest.version}`,
        );
      }
    } catch (error) {
      const e = asForgeError(error, 'FORGE_STORAGE_IO');
      checks.fail('rollback', e.code, e.message);
    }
  }
  const dependencies = Object.entries(manifest.dependencies);
  if (dependencies.length === 0) return checks.pass('dependencies', 'no dependencies');
  if (store === undefined) {
    return checks.fail(
      'dependencies',
      'FORGE_PKG_DEPENDENCY',
      `${dependencies.length} dependenc${dependencies.length === 1 ? 'y' : 'ies'} declared but no installed-package store given`,
    );
  }
  try {
    for (const [name, range] of dependencies) {
      const installed = await installedVersion(store, name);
      if (installed === undefined || !semver.satisfies(installed, range)) {
        return checks.fail(
          'dependencies',
          'FORGE_PKG_DEPENDENCY',
          `needs ${name}@${range}; ${installed === undefined ? 'it is not installed' : `installed is ${installed}`}`,
        );
      }
    }
    checks.pass('dependencies', `${dependencies.length} dependencies satisfied`);
  } catch (error) {
    const e = asForgeError(error, 'FORGE_STORAGE_IO');
    checks.fail('dependencies', e.code, e.message);
  }
}

function contentHashNames(json: unknown): string[] {
  if (typeof json !== 'object' || json === null) return [];
  const hashes = (json as { content_hashes?: unknown }).content_hashes;
  if (typeof hashes !== 'object' || hashes === null || Array.isArray(hashes)) return [];
  return Object.keys(hashes);
}

function asForgeError(error: unknown, fallback: ForgeErrorCode): ForgeError {
  if (isForgeError(error)) return error;
  return new ForgeError(fallback, error instanceof Error ? error.message : String(error), { cause: error });
}
