import { ForgeError, parseWith, systemClock, toForgeError } from '@forgeone/common';
import { runSelfTest } from '@forgeone/diagnostics';
import { bootAuditEntry } from './bootAudit';
import { bootSelfTestOf, deepFreeze, type BootContext } from './bootContext';
import { BootParametersSchema, type BootOptions, type BootParameters } from './bootParameters';
import { NO_ROOT_REVOCATION, checkRevocation, type RevocationStatus } from './revocationStatus';
import { summarizeAnchor, verifyTrustAnchor } from './trustAnchor';
import { rememberBootTrustRoot } from './bootTrustRoot';

/** Validates boot parameters (FORGE_BOOT_PARAMS): the edge where a caller's values become typed ones. */
export function parseBootParameters(input: unknown): BootParameters {
  const params = parseWith(BootParametersSchema, input ?? {}, 'boot parameters', 'FORGE_BOOT_PARAMS');
  if (params.rootPath !== undefined && params.root !== undefined)
    throw new ForgeError('FORGE_BOOT_PARAMS', 'give the trust root as rootPath or as root, not both');
  if (params.revocationsPath !== undefined && params.revocations !== undefined)
    throw new ForgeError(
      'FORGE_BOOT_PARAMS',
      'give the revocation list as revocationsPath or as revocations, not both',
    );
  return params;
}

/**
 * Boots a kernel: verifies the trust anchor first (signature thresholds, version chain, expiry,
 * then its revocation status), then runs the self-test, then records the boot in the audit log.
 * A root that fails refuses the boot with its code (FORGE_ROOT_*, FORGE_BOOT_ROOT_REVOKED) and
 * nothing after it runs. A failed self-test refuses it too (FORGE_BOOT_SELFTEST_FAILED, after
 * the refusal is audited), except in recovery mode, which exists to repair such a machine.
 */
export async function boot(options: BootOptions = {}): Promise<BootContext> {
  const { clock = systemClock, store, audit, selfTest = runSelfTest, registry, ...input } = options;
  const params = parseBootParameters(input);
  const time = clock.now();
  const anchor = await refused(() => verifyTrustAnchor(params, { clock, registry }));
  if (anchor === undefined && params.requireRoot)
    throw new ForgeError(
      'FORGE_BOOT_NO_ROOT',
      'boot refused: no trust root was given and this boot requires one; give a root.json',
    );
  let revocation: RevocationStatus = NO_ROOT_REVOCATION;
  if (anchor !== undefined) {
    revocation = (await refused(() => checkRevocation(anchor, params, { clock, registry, store }))).status;
  }
  if (revocation.status === 'revoked')
    throw new ForgeError(
      'FORGE_BOOT_ROOT_REVOKED',
      `boot refused: trust root v${anchor?.version} is revoked: ${revocation.reason}`,
      { details: { version: anchor?.version ?? null, revokedKeyIds: revocation.revokedKeyIds.join(',') } },
    );
  if (revocation.status === 'unknown' && params.requireRevocation)
    throw new ForgeError(
      'FORGE_BOOT_REVOCATION_UNKNOWN',
      `boot refused: the revocation status is unknown and this boot requires it: ${revocation.reason}`,
    );
  const report = await selfTest({ clock, ...(store ? { store } : {}) });
  const context = {
    bootedAt: new Date(time).toISOString(),
    mode: params.mode,
    root: anchor === undefined ? null : summarizeAnchor(anchor),
    revocation,
    selfTest: bootSelfTestOf(report),
  };
  const booted = report.ok || params.mode === 'recovery';
  const auditSeq = audit
    ? (await audit.append([bootAuditEntry(context, time, booted ? 'booted' : 'refused')])).lastSeq
    : null;
  if (!booted) {
    const failed = context.selfTest.checks.filter((c) => !c.ok);
    throw new ForgeError(
      'FORGE_BOOT_SELFTEST_FAILED',
      `boot refused: the self-test failed (${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}); boot in recovery mode to repair`,
      { details: { failed: failed.map((c) => c.name).join(',') } },
    );
  }
  const result = deepFreeze({ ...context, auditSeq });
  if (anchor !== undefined) rememberBootTrustRoot(result, anchor.trustRoot);
  return result;
}

/** Runs a trust-anchor step; a failure refuses the boot with the step's own code. */
async function refused<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (thrown) {
    // Whatever a damaged root makes a parser throw, the boot is refused with a code, never crashes.
    const error = toForgeError(thrown, 'FORGE_ROOT_INVALID');
    throw new ForgeError(error.code, `boot refused: ${error.message}`, {
      cause: thrown,
      details: error.details,
    });
  }
}
