import { ForgeError, isForgeError, type Clock } from '@forgeone/common';
import {
  assertValid,
  parseJson,
  parsePackage,
  verifyPackage,
  type TrustRoot,
  type VersionStore,
} from '@forgeone/crypto';
import {
  MAX_PLUGIN_MANIFEST_BYTES,
  PLUGIN_MANIFEST_ENTRY,
  parsePluginManifest,
  type PluginManifest,
} from './pluginManifest';

/** A plugin's manifest and module, and where they came from. */
export interface PluginSource {
  readonly manifest: PluginManifest;
  /** The module, binary or text. */
  readonly module: Uint8Array;
  /** True when it came from a ForgePkg that verified against the trust root. */
  readonly verified: boolean;
  /** Key ids whose signatures counted, for verified packages. */
  readonly signers: readonly string[];
}

export interface ReadPluginPackageOptions {
  readonly trustRoot: TrustRoot;
  readonly clock?: Clock;
  /** Installed-package versions, for rollback protection. */
  readonly store?: VersionStore;
}

function manifestError(message: string, cause?: unknown): ForgeError {
  return new ForgeError('FORGE_PLUGIN_MANIFEST_INVALID', message, cause === undefined ? {} : { cause });
}

/**
 * Verifies a plugin's ForgePkg (fails closed with the package's FORGE_PKG_* code) and reads its
 * plugin manifest (`plugin.json`) and module (the package's `entry`). The plugin manifest must
 * name the same plugin and version as the package, and every capability it requires must be
 * listed in the signed package manifest's `capabilities`.
 */
export async function readPluginPackage(
  bytes: Uint8Array,
  options: ReadPluginPackageOptions,
): Promise<PluginSource> {
  const result = await verifyPackage(bytes, {
    trustRoot: options.trustRoot,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.store === undefined ? {} : { store: options.store }),
  });
  const pkg = assertValid(result);
  const entries = new Map(parsePackage(bytes).entries.map((e) => [e.name, e.data] as const));
  const manifestBytes = entries.get(PLUGIN_MANIFEST_ENTRY);
  if (manifestBytes === undefined) {
    throw manifestError(
      `package ${pkg.name}@${pkg.version} has no ${PLUGIN_MANIFEST_ENTRY}; it is not a plugin`,
    );
  }
  let json: unknown;
  try {
    json = parseJson(manifestBytes, MAX_PLUGIN_MANIFEST_BYTES, PLUGIN_MANIFEST_ENTRY);
  } catch (error) {
    throw manifestError(isForgeError(error) ? error.message : String(error), error);
  }
  const manifest = parsePluginManifest(json);
  if (manifest.name !== pkg.name || manifest.version !== pkg.version) {
    throw manifestError(
      `${PLUGIN_MANIFEST_ENTRY} names ${manifest.name}@${manifest.version} but the package is ${pkg.name}@${pkg.version}`,
    );
  }
  const declared = new Set(pkg.capabilities);
  const undeclared = manifest.requires.filter((c) => !declared.has(c));
  if (undeclared.length > 0) {
    throw manifestError(
      `${PLUGIN_MANIFEST_ENTRY} requires ${undeclared.join(', ')}, which the package manifest does not list in capabilities`,
    );
  }
  const module = entries.get(pkg.entry);
  if (module === undefined || pkg.entry === PLUGIN_MANIFEST_ENTRY) {
    throw manifestError(`package ${pkg.name}@${pkg.version} has no module entry`);
  }
  return { manifest, module, verified: true, signers: result.signers.map((s) => s.keyId) };
}
