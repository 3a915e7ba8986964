import type { EnforcementMode, PolicyDecisionPoint, SyscallEnforcerPort } from '@forgeone/common';
import type { PackageManifest } from '@forgeone/crypto';
import {
  grantBounds,
  narrowedSpec,
  packageGrant,
  type EnforcerSpec,
  type LoadedModule,
  type PortablePreopen,
} from '@forgeone/execution';
import { SyscallEnforcer, boundedEnforcer } from '@forgeone/trust';

/** Who decides a guest's calls, as a run or a container is given it. */
export interface GuestDecider {
  readonly policy?: EnforcerSpec | undefined;
  readonly pdp?: PolicyDecisionPoint | undefined;
  readonly enforcer?: SyscallEnforcerPort | undefined;
  readonly mode?: EnforcementMode | undefined;
}

/** What decides a loaded guest's calls: a spec (any isolation) or an enforcer object (inline). */
export interface GuestEnforcement {
  readonly manifest: PackageManifest | undefined;
  /** The spec narrowed to the package's grant (when the decider is a spec). */
  readonly policy: EnforcerSpec | undefined;
  /** The enforcer object bounded by the grant (when the decider is a pdp or an enforcer). */
  readonly enforcerInstance: SyscallEnforcerPort | undefined;
}

/**
 * A package gets no more than its manifest, whoever decides its calls (spec, pdp or enforcer):
 * the decider given, bounded by the package's grant (a development module has none).
 */
export function guestEnforcement(
  module: LoadedModule,
  decider: GuestDecider,
  world: {
    readonly kvNamespace?: string | undefined;
    readonly preopens?: readonly PortablePreopen[] | undefined;
    /** The names of the secrets the launch gives the guest (a package's manifest must grant each). */
    readonly secrets?: readonly string[];
  },
  kernelMode: EnforcementMode,
): GuestEnforcement {
  const manifest = 'manifest' in module ? (module as { manifest: PackageManifest }).manifest : undefined;
  const grant = manifest
    ? packageGrant(manifest, {
        kvNamespace: world.kvNamespace,
        ...(world.preopens ? { preopens: world.preopens } : {}),
        ...(world.secrets ? { secrets: world.secrets } : {}),
      })
    : undefined;
  const policy = decider.policy && narrowedSpec(decider.policy, grant);
  if (decider.pdp === undefined && decider.enforcer === undefined) {
    return { manifest, policy, enforcerInstance: undefined };
  }
  const within = grantBounds(grant);
  const enforcerInstance = decider.enforcer
    ? boundedEnforcer(decider.enforcer, within)
    : new SyscallEnforcer({
        pdp: decider.pdp!,
        mode: decider.mode ?? kernelMode,
        ...(within.length > 0 ? { within } : {}),
      });
  return { manifest, policy, enforcerInstance };
}
