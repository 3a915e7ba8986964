import type { z } from 'zod';
import { isSecretSchema } from '../configSecret';

/** What a path's value is, for coercing text from the environment and flags. */
export type LeafKind = 'object' | 'number' | 'boolean' | 'string' | 'array' | 'json';

/** What the schema says about one path. */
export interface PathInfo {
  readonly kind: LeafKind;
  /** A field typed secret (configSecret()). */
  readonly secret: boolean;
  /** `null` is an accepted value. */
  readonly nullable: boolean;
  /** Names of the children, for objects. */
  readonly children: readonly string[];
}

interface Def {
  readonly type: string;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly shape?: Record<string, z.ZodType>;
  readonly options?: readonly z.ZodType[];
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

// Wrappers that hold one inner schema and do not change what the value is.
const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional']);

/** The schema under defaults, optionals and pipes, and whether null is accepted on the way. */
function unwrap(schema: z.ZodType): { schema: z.ZodType; nullable: boolean; secret: boolean } {
  let current = schema;
  let nullable = false;
  let secret = isSecretSchema(current);
  for (let i = 0; i < 32; i++) {
    const def = defOf(current);
    if (def.type === 'nullable') nullable = true;
    const inner = WRAPPERS.has(def.type) ? def.innerType : def.type === 'pipe' ? def.in : undefined;
    if (!inner) break;
    current = inner;
    secret ||= isSecretSchema(current);
  }
  return { schema: current, nullable, secret };
}

function kindOf(type: string): LeafKind {
  switch (type) {
    case 'object':
      return 'object';
    case 'number':
    case 'int':
    case 'bigint':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'string':
    case 'enum':
    case 'literal':
    case 'template_literal':
      return 'string';
    case 'array':
    case 'tuple':
      return 'array';
    default:
      return 'json';
  }
}

/**
 * Every path of an object schema (objects are followed into their shapes; arrays, records and
 * unions are leaves), keyed by dotted path.
 */
export function walkSchema(root: z.ZodType): ReadonlyMap<string, PathInfo> {
  const paths = new Map<string, PathInfo>();
  const visit = (schema: z.ZodType, prefix: string, depth: number): void => {
    const { schema: inner, nullable, secret } = unwrap(schema);
    const def = defOf(inner);
    const kind = kindOf(def.type);
    const children = kind === 'object' && def.shape ? Object.keys(def.shape) : [];
    if (prefix !== '') paths.set(prefix, { kind, secret, nullable, children });
    if (kind === 'object' && def.shape && depth < 16) {
      for (const [key, child] of Object.entries(def.shape))
        visit(child, prefix === '' ? key : `${prefix}.${key}`, depth + 1);
    }
  };
  visit(root, '', 0);
  return paths;
}
