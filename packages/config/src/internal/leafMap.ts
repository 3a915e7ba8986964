import type { JsonValue } from '@forgeone/common';

/** A plain object (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep-freezes a JSON-like value in place and returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * Every path of a value tree, objects included, to its value: the lookup table `get` reads. Built
 * once per version, so a read is one property load. Built through JSON.parse because V8 gives an
 * object made that way fast properties, where one grown key by key past a dozen keys turns into a
 * hash table (measured: about 3x slower per read); object-valued paths are then pointed back at
 * the frozen subtrees, so `get('limits')` is the same object as the tree's.
 */
export function pathTable(root: Record<string, unknown>): Record<string, unknown> {
  const entries: [string, unknown][] = [];
  const visit = (value: unknown, prefix: string): void => {
    if (prefix !== '') entries.push([prefix, value]);
    if (isPlainObject(value))
      for (const [key, child] of Object.entries(value))
        visit(child, prefix === '' ? key : `${prefix}.${key}`);
  };
  visit(root, '');
  const defined = entries.filter(([, value]) => value !== undefined);
  const table = JSON.parse(JSON.stringify(Object.fromEntries(defined))) as Record<string, unknown>;
  for (const [path, value] of defined) if (typeof value === 'object' && value !== null) table[path] = value;
  // No prototype: a path such as `toString` is unknown, not Object.prototype's (the map stays fast).
  return Object.freeze(Object.setPrototypeOf(table, null) as Record<string, unknown>);
}

/** The leaves (scalars and arrays) of a value tree by dotted path. */
export function leaves(root: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const visit = (value: unknown, prefix: string): void => {
    if (isPlainObject(value) && (prefix === '' || Object.keys(value).length > 0)) {
      for (const [key, child] of Object.entries(value))
        visit(child, prefix === '' ? key : `${prefix}.${key}`);
    } else if (prefix !== '') out.set(prefix, value);
  };
  visit(root, '');
  return out;
}

/** Structural equality of JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every(
    (k) =>
      Object.hasOwn(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

/** One changed leaf: `old`/`new` left out when the path did not / does not exist. */
export interface LeafChange {
  readonly path: string;
  readonly old?: JsonValue;
  readonly new?: JsonValue;
}

/** The leaves that differ between two value trees, in path order. */
export function diffLeaves(before: unknown, after: unknown): LeafChange[] {
  const a = leaves(before);
  const b = leaves(after);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  const changes: LeafChange[] = [];
  for (const path of paths) {
    const old = a.get(path);
    const next = b.get(path);
    if (jsonEqual(old, next)) continue;
    changes.push({
      path,
      ...(a.has(path) && old !== undefined ? { old: old as JsonValue } : {}),
      ...(b.has(path) && next !== undefined ? { new: next as JsonValue } : {}),
    });
  }
  return changes;
}

/** A copy of `root` with the value at dotted `path` replaced (missing objects on the way created). */
export function withPath(
  root: Record<string, unknown>,
  path: string,
  value: unknown,
): Record<string, unknown> {
  const keys = path.split('.');
  const copy: Record<string, unknown> = { ...root };
  let node = copy;
  for (let i = 0; i < keys.length - 1; i++) {
    const key = keys[i]!;
    const child = node[key];
    const next: Record<string, unknown> = isPlainObject(child) ? { ...child } : {};
    node[key] = next;
    node = next;
  }
  node[keys[keys.length - 1]!] = value;
  return copy;
}

/** The value at dotted `path`, undefined when absent. */
export function atPath(root: unknown, path: string): unknown {
  let node: unknown = root;
  for (const key of path.split('.')) {
    if (!isPlainObject(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

/** Deep merge of plain objects; arrays and scalars of `over` replace. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = deepMerge(base[key], value);
  return out;
}
