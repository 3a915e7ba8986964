import type { EnforcementMode, IdentityContext } from '@forgeone/common';
import type { ContainerLimits } from '@forgeone/config';
import type { EnforcerSpec, Isolation, LoadedModule, LoadedPackage } from '@forgeone/execution';
import type { TraceRunContext } from '@forgeone/observer';

/** Limits a trace header keeps, by config's names: every number the host ran the guest under. */
function limitsOf(limits: ContainerLimits): Record<string, number> {
  const kept: Record<string, number> = {};
  for (const [name, value] of Object.entries(limits)) if (typeof value === 'number') kept[name] = value;
  return kept;
}

/** Who decided a run's calls, in a few words: `allow-list`, `policy:<source>` or `decision-point`. */
function deciderOf(spec: EnforcerSpec | undefined): string {
  if (spec === undefined) return 'decision-point';
  if (spec.policy.kind === 'allow-list') return 'allow-list';
  const source = spec.policy.source;
  return source === undefined ? 'policy' : `policy:${source.slice(-200)}`;
}

/**
 * What a trace header says ran (package, signers, identity, grant, limits): from what the kernel
 * verified and the decider it built, never from the guest.
 */
export function runContextOf(
  module: LoadedModule,
  run: {
    readonly identity: IdentityContext;
    readonly spec: EnforcerSpec | undefined;
    readonly mode: EnforcementMode;
    readonly isolation: Isolation;
    readonly limits: ContainerLimits;
  },
): TraceRunContext {
  const pkg = 'manifest' in module ? (module as LoadedPackage) : undefined;
  const { subject, tenant, roles } = run.identity;
  const capabilities = pkg
    ? [...pkg.manifest.capabilities]
    : run.spec?.policy.kind === 'allow-list'
      ? [...run.spec.policy.allow]
      : [];
  return {
    ...(pkg && {
      package: {
        name: pkg.manifest.name,
        version: pkg.manifest.version,
        signers: (pkg.signers ?? []).map(({ keyId, algorithm }) => ({ keyId, algorithm })),
      },
    }),
    identity: {
      subject,
      ...(tenant === undefined ? {} : { tenant }),
      ...(roles === undefined || roles.length === 0 ? {} : { roles: [...roles] }),
    },
    capabilities,
    decider: deciderOf(run.spec),
    mode: run.spec?.mode ?? run.mode,
    isolation: run.isolation,
    limits: limitsOf(run.limits),
  };
}
