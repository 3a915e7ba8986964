import { reservedGlobalIndex } from '../module/stateExports';
import { RESERVED_EXPORT_PREFIX } from '../module/wasmCodeRewrite';

/** One global of a guest, read through its exports. */
export interface GuestGlobal {
  /** Its index in the module's global space, when an export says it (see `reservedGlobalIndex`). */
  readonly index: number | null;
  /** The names the guest exports it under (none for a global only the instrumentation exports). */
  readonly names: readonly string[];
  /** i64 values are bigints. */
  readonly value: number | bigint;
}

/**
 * Every export of kind global, one entry per global (a global exported under two names is one).
 * V8 shows only exported globals: a module rewritten to export every global under
 * `__forge_global_<index>` (the snapshot instrumentation) shows them all, each with its index.
 * `indexOf` gives the index of a named export (from the module's export section): V8 hands out a
 * new `WebAssembly.Global` per export, so a global exported twice is known as one only by index.
 * The host's own reserved globals (fuel, deadline counters) are not the guest's and are left out.
 */
export function guestGlobals(
  exports: WebAssembly.Exports,
  indexOf: (name: string) => number | undefined = () => undefined,
): GuestGlobal[] {
  type Entry = { index: number | null; names: string[]; value: number | bigint };
  const entries: Entry[] = [];
  const byGlobal = new Map<WebAssembly.Global, Entry>();
  const byIndex = new Map<number, Entry>();
  for (const [name, global] of Object.entries(exports)) {
    if (!(global instanceof WebAssembly.Global)) continue;
    const reserved = reservedGlobalIndex(name);
    if (reserved === undefined && name.startsWith(RESERVED_EXPORT_PREFIX)) continue;
    const index = reserved ?? indexOf(name);
    let entry = byGlobal.get(global) ?? (index === undefined ? undefined : byIndex.get(index));
    if (entry === undefined) {
      entry = { index: null, names: [], value: global.value as number | bigint };
      entries.push(entry);
    }
    if (reserved === undefined) entry.names.push(name);
    byGlobal.set(global, entry);
    if (index !== undefined && entry.index === null) {
      entry.index = index;
      byIndex.set(index, entry);
    }
  }
  // By index; those whose index no export says, after, in export order.
  return entries
    .map((entry, order) => ({ entry, order }))
    .sort(
      (a, b) =>
        (a.entry.index ?? Number.MAX_SAFE_INTEGER) - (b.entry.index ?? Number.MAX_SAFE_INTEGER) ||
        a.order - b.order,
    )
    .map(({ entry }) => ({ index: entry.index, names: entry.names, value: entry.value }));
}
