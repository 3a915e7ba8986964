import { z } from 'zod';
import { ForgeError, type ForgeErrorCode } from '@forgeone/common';
import type { ConfigSection } from './configSection';
import { walkSchema, type PathInfo } from './internal/schemaWalk';

/** The output type of a list of sections: one key per section name. */
export type SectionsOutput<L extends readonly ConfigSection[]> = {
  [S in L[number] as S['name']]: z.output<S['schema']>;
};

/** One problem with a configuration value, at a dotted path (`(root)` for the whole). */
export interface ConfigIssue {
  readonly code: ForgeErrorCode;
  readonly path: string;
  readonly message: string;
}

/**
 * The composition of every registered section into one strict schema, with what it knows about
 * each path. Built with `defineConfigSchema` and grown with `extend`, so a package adds its own
 * section without editing a central list; a duplicate name is FORGE_CONFIG_DUPLICATE_SECTION.
 */
export class ConfigSchema<T extends Record<string, unknown> = Record<string, unknown>> {
  readonly sections: readonly ConfigSection[];
  readonly zod: z.ZodType<T>;
  readonly paths: ReadonlyMap<string, PathInfo>;

  private constructor(sections: readonly ConfigSection[]) {
    const shape: Record<string, z.ZodType> = {};
    const owners = new Map<string, string>();
    for (const section of sections) {
      const earlier = owners.get(section.name);
      if (earlier !== undefined) {
        throw new ForgeError(
          'FORGE_CONFIG_DUPLICATE_SECTION',
          `section ${section.name} is registered by ${earlier} and again by ${section.owner}`,
          { details: { section: section.name, owner: section.owner, registeredBy: earlier } },
        );
      }
      owners.set(section.name, section.owner);
      shape[section.name] = section.schema;
    }
    this.sections = Object.freeze([...sections]);
    this.zod = z.object(shape).strict() as unknown as z.ZodType<T>;
    this.paths = walkSchema(this.zod);
  }

  /** A schema of the given sections. */
  static of<const L extends readonly ConfigSection[]>(sections: L): ConfigSchema<SectionsOutput<L>> {
    return new ConfigSchema(sections) as ConfigSchema<SectionsOutput<L>>;
  }

  /** This schema with more sections. */
  extend<const L extends readonly ConfigSection[]>(sections: L): ConfigSchema<T & SectionsOutput<L>> {
    return new ConfigSchema([...this.sections, ...sections]) as ConfigSchema<T & SectionsOutput<L>>;
  }

  /** The owner of the section a path is in. */
  ownerOf(path: string): string | undefined {
    const name = path.split('.')[0];
    return this.sections.find((s) => s.name === name)?.owner;
  }

  /** What the schema says about `path`, or FORGE_CONFIG_UNKNOWN_PATH. */
  pathInfo(path: string): PathInfo {
    const info = typeof path === 'string' ? this.paths.get(path) : undefined;
    if (info === undefined) {
      throw new ForgeError('FORGE_CONFIG_UNKNOWN_PATH', `no setting at ${displayPath(path)}`, {
        details: { path: displayPath(path) },
      });
    }
    return info;
  }

  /** Every problem with `input` (empty when it is valid). */
  issues(input: unknown): ConfigIssue[] {
    const result = this.zod.safeParse(input ?? {});
    if (result.success) return [];
    const issues: ConfigIssue[] = [];
    for (const issue of result.error.issues) {
      const base = issue.path.map(String);
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const path = [...base, key].join('.');
          issues.push({
            code: 'FORGE_CONFIG_UNKNOWN_KEY',
            path,
            message: `unknown key ${JSON.stringify(key)}`,
          });
        }
        continue;
      }
      const path = base.length > 0 ? base.join('.') : '(root)';
      // One problem per path: a bound checked twice (by zod and a section's own rule) is one problem.
      if (issues.some((seen) => seen.path === path && seen.code !== 'FORGE_CONFIG_UNKNOWN_KEY')) continue;
      const secret = this.paths.get(path)?.secret === true;
      issues.push({
        code: secret ? 'FORGE_CONFIG_SECRET_LITERAL' : 'FORGE_CONFIG_INVALID',
        path,
        message: secret ? 'expected a secret:<name> reference (the value is not shown)' : issue.message,
      });
    }
    return issues;
  }

  /** Validates `input` and fills in defaults; the first problem is thrown with its code and path. */
  parse(input: unknown): T {
    const result = this.zod.safeParse(input ?? {});
    if (result.success) return result.data;
    throw issuesError(this.issues(input));
  }
}

/** A ForgeError for a list of issues: the first one's code and path, the count of the rest. */
export function issuesError(issues: readonly ConfigIssue[]): ForgeError {
  const first = issues[0] ?? {
    code: 'FORGE_CONFIG_INVALID' as const,
    path: '(root)',
    message: 'invalid value',
  };
  const more = issues.length > 1 ? ` (+${issues.length - 1} more)` : '';
  return new ForgeError(first.code, `invalid configuration at ${first.path}: ${first.message}${more}`, {
    details: { path: first.path, issues: issues.length },
  });
}

/** A path for a message: bounded, so hostile input cannot flood a log line. */
export function displayPath(path: unknown): string {
  const text = typeof path === 'string' ? path : String(path);
  return text.length > 120 ? `${JSON.stringify(text.slice(0, 120))}...` : JSON.stringify(text);
}

/** Composes sections into one schema (see ConfigSchema). */
export function defineConfigSchema<const L extends readonly ConfigSection[]>(
  sections: L,
): ConfigSchema<SectionsOutput<L>> {
  return ConfigSchema.of(sections);
}
