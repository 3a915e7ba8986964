import type { z } from 'zod';
import { ForgeError } from '@forgeone/common';

/** A name of a top-level section: camelCase, as the paths under it. */
const SECTION_NAME = /^[a-z][A-Za-z0-9]{0,63}$/;
/** Top-level keys of a configuration file that are not sections. */
export const RESERVED_SECTION_NAMES: ReadonlySet<string> = new Set(['changePolicies']);

/** One top-level section of a kernel configuration, owned by the package that registers it. */
export interface ConfigSection<N extends string = string, S extends z.ZodType = z.ZodType> {
  readonly name: N;
  readonly schema: S;
  /** The package that owns the section (e.g. `@forgeone/core`), for messages and `show`. */
  readonly owner: string;
}

/**
 * Declares a section. Its schema must accept `undefined` (every field has a safe default), so a
 * configuration that leaves the section out still boots; a bad or reserved name is refused.
 */
export function configSection<const N extends string, S extends z.ZodType>(
  name: N,
  schema: S,
  options: { readonly owner: string },
): ConfigSection<N, S> {
  if (!SECTION_NAME.test(name) || RESERVED_SECTION_NAMES.has(name)) {
    throw new ForgeError(
      'FORGE_CONFIG_SECTION_INVALID',
      `section name ${JSON.stringify(name)} must be camelCase (${SECTION_NAME.source}) and not reserved`,
      { details: { section: name, owner: options.owner } },
    );
  }
  if (!schema.safeParse(undefined).success) {
    throw new ForgeError(
      'FORGE_CONFIG_SECTION_INVALID',
      `section ${name} (${options.owner}) has no default: give its schema a .default(...)`,
      { details: { section: name, owner: options.owner } },
    );
  }
  return Object.freeze({ name, schema, owner: options.owner });
}
