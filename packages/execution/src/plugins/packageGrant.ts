import { ForgeError } from '@forgeone/common';
import type { PackageManifest } from '@forgeone/crypto';
import type { EnforcerSpec, SyscallBound } from '@forgeone/trust';
import { worldSyscallNames } from '../world/guestWorld';
import type { PortablePreopen } from '../world/guestWorld';
import { capabilityCovers, formatCapability, isManifestPath, parseCapability } from './capability';

/** Manifest entries that name syscalls (`forge.log`, `wasi.*`); the other kinds are `kind:action:resource`. */
const SYSCALL_CAPABILITY = /^[a-z][a-z0-9_]*\.(?:\*|[a-z][a-z0-9_]*)$/;

/** What a package's manifest grants one run: the bound over every decision, and its kv access. */
export interface PackageGrant {
  /** The syscalls the manifest grants: no policy, allow-list or decision point decides beyond them. */
  readonly within: SyscallBound;
  /** With a kv namespace: which of reading and writing the manifest grants on it. */
  readonly kv?: { readonly read: boolean; readonly write: boolean };
}

/**
 * What a package may do in a run, from its manifest alone (a package gets no more than it asked
 * for, whatever decides its calls): the syscalls among its capabilities and, with a kv namespace,
 * only the kv calls its `kv:` capabilities grant. Refuses before anything runs
 * (FORGE_CAPABILITY_NOT_GRANTED) a preopen or a kv namespace the manifest does not grant.
 */
export function packageGrant(
  manifest: PackageManifest,
  run: {
    readonly kvNamespace?: string | undefined;
    readonly preopens?: readonly PortablePreopen[];
    /** The names of the secrets the run gives the guest: each needs `secret:read:<name>`. */
    readonly secrets?: readonly string[];
  },
): PackageGrant {
  assertPreopensGranted(run.preopens ?? [], manifest);
  const secretsGranted = assertSecretsGranted(run.secrets ?? [], manifest);
  const kv = run.kvNamespace === undefined ? undefined : kvGranted(run.kvNamespace, manifest);
  let syscalls = manifest.capabilities.filter((c) => SYSCALL_CAPABILITY.test(c));
  // `secret:read:<name>` is the grant of forge.secret_read; which names, the run's secrets say.
  if (secretsGranted) syscalls.push(SECRET_READ);
  if (kv !== undefined && !(kv.read && kv.write)) {
    // Spell namespace wildcards out, so that the kv calls not granted can be left out.
    const known = worldSyscallNames();
    const refused = new Set(kv.read ? ['forge.kv_put', 'forge.kv_delete'] : ['forge.kv_get']);
    syscalls = syscalls
      .flatMap((entry) =>
        entry.endsWith('.*') ? known.filter((name) => name.startsWith(entry.slice(0, -1))) : [entry],
      )
      .filter((name) => !refused.has(name));
  }
  const within = { owner: `package ${manifest.name}@${manifest.version}'s manifest`, syscalls };
  return kv === undefined ? { within } : { within, kv };
}

/**
 * The bounds a package's grant puts over an enforcer built from objects (a pdp or an enforcer):
 * none without a grant.
 */
export function grantBounds(grant: PackageGrant | undefined): SyscallBound[] {
  return grant ? [grant.within] : [];
}

/** `spec` narrowed to the grant: its bound added to the spec's own (the spec as given without one). */
export function narrowedSpec(spec: EnforcerSpec, grant: PackageGrant | undefined): EnforcerSpec {
  return grant ? { ...spec, within: [...(spec.within ?? []), grant.within] } : spec;
}

/**
 * A package sees only the directories its manifest grants: a read-only preopen at a guest path
 * needs `fs:read:<path or a parent>`, a writable one `fs:write:` as well.
 */
function assertPreopensGranted(preopens: readonly PortablePreopen[], manifest: PackageManifest): void {
  const granted = manifest.capabilities.filter((c) => c.startsWith('fs:')).map(parseCapability);
  for (const preopen of preopens) {
    if (!isManifestPath(preopen.guestPath)) {
      throw new ForgeError(
        'FORGE_CAPABILITY_NOT_GRANTED',
        `a package's directories are mounted at absolute guest paths such as /data; got ${JSON.stringify(preopen.guestPath.slice(0, 200))}`,
        { details: { guestPath: preopen.guestPath.slice(0, 200), package: manifest.name } },
      );
    }
    const actions = preopen.readOnly === true ? (['read'] as const) : (['read', 'write'] as const);
    for (const action of actions) {
      const needed = parseCapability(`fs:${action}:${preopen.guestPath}`);
      if (granted.some((grant) => capabilityCovers(grant, needed))) continue;
      const hint = action === 'write' ? ' (mount it read-only, or' : ' (';
      throw new ForgeError(
        'FORGE_CAPABILITY_NOT_GRANTED',
        `package ${manifest.name}@${manifest.version} is not granted ${formatCapability(needed)}${hint} add the capability to its manifest)`,
        { details: { capability: formatCapability(needed), package: manifest.name } },
      );
    }
  }
}

const SECRET_READ = 'forge.secret_read';

/**
 * A package reads only the secrets its manifest names (`secret:read:<name>`): a run that gives it
 * another is refused. True when the manifest grants any secret (forge.secret_read is then in its
 * bound; the guest can read only the secrets the run gives it).
 */
function assertSecretsGranted(names: readonly string[], manifest: PackageManifest): boolean {
  const granted = manifest.capabilities.filter((c) => c.startsWith('secret:')).map(parseCapability);
  for (const name of names) {
    if (granted.some((grant) => capabilityCovers(grant, { kind: 'secret', action: 'read', name }))) continue;
    throw new ForgeError(
      'FORGE_CAPABILITY_NOT_GRANTED',
      `package ${manifest.name}@${manifest.version} is not granted secret:read:${name} (add the capability to its manifest, or run it without that secret)`,
      { details: { capability: `secret:read:${name}`, package: manifest.name } },
    );
  }
  return granted.length > 0;
}

/**
 * `kv:read:<ns>` (or `kv:read:*`) grants `forge.kv_get`, `kv:write:<ns>` grants `forge.kv_put`
 * and `forge.kv_delete`. A run that gives a package a namespace it is granted neither for is refused.
 */
function kvGranted(namespace: string, manifest: PackageManifest): { read: boolean; write: boolean } {
  const granted = manifest.capabilities.filter((c) => c.startsWith('kv:')).map(parseCapability);
  const covers = (action: 'read' | 'write') =>
    granted.some((grant) => capabilityCovers(grant, { kind: 'kv', action, namespace }));
  const grants = { read: covers('read'), write: covers('write') };
  if (!grants.read && !grants.write) {
    throw new ForgeError(
      'FORGE_CAPABILITY_NOT_GRANTED',
      `package ${manifest.name}@${manifest.version} is not granted kv:read:${namespace} or kv:write:${namespace} (add the capability to its manifest, or run it without --kv)`,
      { details: { capability: `kv:read:${namespace}`, package: manifest.name } },
    );
  }
  return grants;
}
