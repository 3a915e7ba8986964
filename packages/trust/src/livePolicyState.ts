import type { EnforcementMode } from '@forgeone/common';

/** One version of a live policy as an enforcer takes it: plain data (it crosses into workers). */
export interface LivePolicyState {
  readonly version: number;
  /** The policy document (parsed, plain JSON). */
  readonly document: unknown;
  /** The live mode (taken by enforcers of launches that gave no mode of their own). */
  readonly mode: EnforcementMode;
  /** SHA-256 of the document's canonical JSON. */
  readonly digest: string;
}
