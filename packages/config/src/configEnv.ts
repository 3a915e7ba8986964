import type { ForgeErrorCode } from '@forgeone/common';
import type { ConfigSchema } from './configSchema';
import type { LeafKind, PathInfo } from './internal/schemaWalk';
import { withPath } from './internal/leafMap';

/** Prefix of every configuration variable. */
export const CONFIG_ENV_PREFIX = 'FORGEONE_';

/** `limits.timeoutMs` → `FORGEONE_LIMITS__TIMEOUT_MS`: sections and fields split by `__`, words by `_`. */
export function configEnvName(path: string): string {
  return (
    CONFIG_ENV_PREFIX +
    path
      .split('.')
      .map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
      .join('__')
  );
}

/** A value given as text (environment or flag) turned into its setting's type, or why it cannot be. */
export function coerceText(
  info: PathInfo,
  text: string,
): { ok: true; value: unknown } | { ok: false; problem: string } {
  if (info.nullable && text === 'null') return { ok: true, value: null };
  return coerceKind(info.kind, text);
}

function coerceKind(
  kind: LeafKind,
  text: string,
): { ok: true; value: unknown } | { ok: false; problem: string } {
  switch (kind) {
    case 'number':
      return /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text.trim())
        ? { ok: true, value: Number(text) }
        : { ok: false, problem: 'expected a number' };
    case 'boolean':
      if (text === 'true' || text === '1') return { ok: true, value: true };
      if (text === 'false' || text === '0') return { ok: true, value: false };
      return { ok: false, problem: 'expected true, false, 1 or 0' };
    case 'string':
      return { ok: true, value: text };
    default:
      try {
        return { ok: true, value: JSON.parse(text) as unknown };
      } catch {
        return { ok: false, problem: `expected JSON (${kind === 'array' ? 'an array' : 'a value'})` };
      }
  }
}

/** One layer of text-given settings (environment or flags): the values, who gave each, the problems. */
export interface TextLayer {
  readonly value: Record<string, unknown>;
  /** Dotted path → the variable name or flag text that set it. */
  readonly givenBy: ReadonlyMap<string, string>;
  readonly problems: readonly {
    readonly code: ForgeErrorCode;
    readonly where: string;
    readonly message: string;
  }[];
}

/**
 * The configuration variables in `env`. A `FORGEONE_*` name that maps to a path sets it (coerced
 * by the path's type); one with `__` that maps to none is FORGE_CONFIG_ENV_UNKNOWN; other
 * `FORGEONE_*` names (FORGEONE_STATE, FORGEONE_PASSPHRASE, ...) are not configuration and are left alone.
 */
export function readEnvLayer(
  schema: ConfigSchema,
  env: Readonly<Record<string, string | undefined>>,
): TextLayer {
  const byName = new Map<string, string>();
  for (const path of schema.paths.keys()) byName.set(configEnvName(path), path);
  let value: Record<string, unknown> = {};
  const givenBy = new Map<string, string>();
  const problems: { code: ForgeErrorCode; where: string; message: string }[] = [];
  for (const name of Object.keys(env).sort()) {
    const text = env[name];
    if (!name.startsWith(CONFIG_ENV_PREFIX) || text === undefined) continue;
    const path = byName.get(name);
    if (path === undefined) {
      if (name.includes('__'))
        problems.push({
          code: 'FORGE_CONFIG_ENV_UNKNOWN',
          where: `env ${name}`,
          message: 'names no setting',
        });
      continue;
    }
    const info = schema.paths.get(path)!;
    const coerced = coerceText(info, text);
    if (!coerced.ok) {
      problems.push({
        code: 'FORGE_CONFIG_ENV_INVALID',
        where: `env ${name}`,
        message: `${path}: ${coerced.problem}`,
      });
      continue;
    }
    value = withPath(value, path, coerced.value);
    givenBy.set(path, `env ${name}`);
  }
  return { value, givenBy, problems };
}

/** `--set path=value` flags, in order (a later one wins). */
export function readFlagLayer(schema: ConfigSchema, sets: readonly string[]): TextLayer {
  let value: Record<string, unknown> = {};
  const givenBy = new Map<string, string>();
  const problems: { code: ForgeErrorCode; where: string; message: string }[] = [];
  for (const flag of sets) {
    const at = flag.indexOf('=');
    const path = at > 0 ? flag.slice(0, at) : '';
    const where = `flag --set ${path.length > 0 && path.length <= 120 ? path : '(malformed)'}`;
    if (at <= 0) {
      problems.push({ code: 'FORGE_CONFIG_FLAG_INVALID', where, message: 'expected --set path=value' });
      continue;
    }
    const info = schema.paths.get(path);
    if (info === undefined) {
      problems.push({ code: 'FORGE_CONFIG_UNKNOWN_PATH', where, message: 'names no setting' });
      continue;
    }
    const coerced = coerceText(info, flag.slice(at + 1));
    if (!coerced.ok) {
      problems.push({ code: 'FORGE_CONFIG_FLAG_INVALID', where, message: coerced.problem });
      continue;
    }
    value = withPath(value, path, coerced.value);
    givenBy.set(path, where);
  }
  return { value, givenBy, problems };
}
