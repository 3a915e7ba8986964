export { ManualClock, MemoryStore } from '@forgeone/common';

/** A kernel audit entry of `kind` (e.g. `api.request`), as read back over the API. */
export interface KernelEntry {
  readonly kernel: string;
  readonly time: number;
  readonly facts: Record<string, unknown>;
}

/** A filter keeping the kernel entries of `kind`. */
export function isKernelAuditEntryLike(kind: string) {
  return (entry: Record<string, unknown>): entry is Record<string, unknown> & KernelEntry =>
    entry['kernel'] === kind && typeof entry['facts'] === 'object';
}
