import { z } from 'zod';
import type { Clock, StoragePort } from '@forgeone/common';
import type { AlgorithmRegistry } from '@forgeone/crypto';
import type { SelfTestOptions, SelfTestReport } from '@forgeone/diagnostics';
import type { AuditLog } from '@forgeone/trust';
import { BootModeSchema } from './bootMode';

const PathSchema = z.string().min(1).max(4096);
const DocumentSchema = z.union([z.record(z.string(), z.unknown()), z.array(z.unknown()).min(1).max(1024)]);

/**
 * What a boot is asked to do: plain values, validated once (`parseBootParameters`). A trust root
 * is a file (`rootPath`) or a document (`root`: one root, or a rotation chain, oldest first).
 */
export const BootParametersSchema = z.strictObject({
  mode: BootModeSchema.default('normal'),
  /** A root.json to read. */
  rootPath: PathSchema.optional(),
  /** A root document, or a rotation chain (`[pinned, ..., newest]`). */
  root: DocumentSchema.optional(),
  /** A revocation list file to apply instead of the one embedded in the root. */
  revocationsPath: PathSchema.optional(),
  /** A revocation list document to apply instead of the one embedded in the root. */
  revocations: z.record(z.string(), z.unknown()).optional(),
  /** Refuse to boot without a trust root (FORGE_BOOT_NO_ROOT). Default false: a development kernel. */
  requireRoot: z.boolean().default(false),
  /** Refuse to boot when the revocation status is unknown (FORGE_BOOT_REVOCATION_UNKNOWN). */
  requireRevocation: z.boolean().default(false),
  /** Where the root came from, for people (`--root root.json`); default: the path, or `document`. */
  rootSource: z.string().min(1).max(4096).optional(),
});

export type BootParametersInput = z.input<typeof BootParametersSchema>;
export type BootParameters = z.output<typeof BootParametersSchema>;

/** A boot's collaborators: passed in, never global. */
export interface BootCollaborators {
  readonly clock?: Clock;
  /**
   * The kernel's store: the self-test's storage check runs against it, and the highest root and
   * revocation-list versions are kept in it (an older one is then refused: FORGE_ROOT_ROLLBACK).
   */
  readonly store?: StoragePort;
  /** Where the boot is recorded (a `boot` kernel entry). Without it the boot is not audited. */
  readonly audit?: AuditLog;
  /** The self-test to run (default: @forgeone/diagnostics' `runSelfTest`). */
  readonly selfTest?: (options: SelfTestOptions) => Promise<SelfTestReport>;
  readonly registry?: AlgorithmRegistry;
}

/** Everything `boot` takes: the parameters and the collaborators. */
export type BootOptions = BootParametersInput & BootCollaborators;
