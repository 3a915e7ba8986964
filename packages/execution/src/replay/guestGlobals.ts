import { RESERVED_EXPORT_PREFIX } from '../module/wasmCodeRewrite';

/** One global of a guest, read through its exports. */
export interface GuestGlobal {
  /** Its index in the module's global space, when an export says it (see `reservedGlobalIndex`). */
  readonly index: number | null;
  /** Every name it is exported under, reserved ones included. */
  readonly names: readonly string[];
  /** i64 values are bigints. */
  readonly value: number | bigint;
}

/** The reserved export name a module rewrite gives global `index` of a module (`__forge_global_3`). */
export const reservedGlobalName = (index: number): string => `${RESERVED_EXPORT_PREFIX}global_${index}`;

const RESERVED_GLOBAL = new RegExp(`^${RESERVED_EXPORT_PREFIX}global_(\\d+)$`);

/** The global index a reserved export name stands for; undefined for any other name. */
export function reservedGlobalIndex(name: string): number | undefined {
  const match = RESERVED_GLOBAL.exec(name);
  return match === null ? undefined : Number(match[1]);
}

/**
 * Every export of kind global, one entry per global (a global exported under two names is one).
 * V8 shows only exported globals: a module rewritten to export every global under
 * `__forge_global_<index>` (the snapshot instrumentation) shows them all, each with its index.
 * The host's own reserved globals (fuel, deadline counters) are not the guest's and are left out.
 */
export function guestGlobals(exports: WebAssembly.Exports): GuestGlobal[] {
  const found = new Map<WebAssembly.Global, { index: number | null; names: string[] }>();
  for (const [name, value] of Object.entries(exports)) {
    if (!(value instanceof WebAssembly.Global)) continue;
    const index = reservedGlobalIndex(name);
    if (index === undefined && name.startsWith(RESERVED_EXPORT_PREFIX)) continue;
    const entry = found.get(value) ?? { index: null, names: [] };
    entry.names.push(name);
    if (index !== undefined) entry.index = index;
    found.set(value, entry);
  }
  return [...found.entries()]
    .map(([global, { index, names }]) => ({ index, names, value: global.value as number | bigint }))
    .sort((a, b) => (a.index ?? Number.MAX_SAFE_INTEGER) - (b.index ?? Number.MAX_SAFE_INTEGER));
}
