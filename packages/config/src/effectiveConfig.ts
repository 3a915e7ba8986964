import { ForgeError, isForgeError, type ForgeErrorCode } from '@forgeone/common';
import type { ChangePolicy, ConfigChange } from './changePolicy';
import { readConfigFile, type ParsedConfigFile } from './configFile';
import { readEnvLayer, readFlagLayer, type TextLayer } from './configEnv';
import type { ConfigSchema } from './configSchema';
import {
  ChangePolicyRulesSchema,
  compileChangePolicyRules,
  type ChangePolicyRule,
} from './declarativePolicy';
import { deepMerge, diffLeaves, isPlainObject, leaves } from './internal/leafMap';

/** Where an effective value came from. */
export type ConfigSource =
  | { readonly kind: 'default' }
  | { readonly kind: 'file'; readonly file: string; readonly line: number; readonly column: number }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'flag'; readonly flag: string };

/** One problem found while resolving a configuration, with where it is. */
export interface ConfigProblem {
  readonly code: ForgeErrorCode;
  /** `file:line:column`, `env NAME`, `flag --set path`, or `(defaults)`. */
  readonly where: string;
  readonly message: string;
  readonly path?: string;
}

/** The one-line form of a problem: `where: CODE: message`. */
export function formatConfigProblem(problem: ConfigProblem): string {
  return `${problem.where}: ${problem.code}: ${problem.message}`;
}

/** The display form of a source: `default`, `file:line:col`, `env NAME`, `flag --set path`. */
export function formatConfigSource(source: ConfigSource): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'file':
      return `${source.file}:${source.line}:${source.column}`;
    case 'env':
      return `env ${source.name}`;
    case 'flag':
      return source.flag;
  }
}

export interface ResolveConfigOptions<T extends Record<string, unknown>> {
  readonly schema: ConfigSchema<T>;
  /** The configuration file (`forgeone.yaml`, YAML or JSON); none: defaults, environment and flags only. */
  readonly file?: string;
  /** Environment to read `FORGEONE_*` variables from (pass process.env; default none). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** `path=value` texts from `--set` flags, in order. */
  readonly sets?: readonly string[];
  /** Code policies the initial configuration must pass (their value checks, e.g. core's memory budget). */
  readonly policies?: readonly ChangePolicy<NoInfer<T>>[];
}

/** An effective configuration: defaults < file < environment < flags, with the source of each leaf. */
export interface ResolvedConfig<T> {
  readonly ok: boolean;
  /** Present when ok. */
  readonly config?: T;
  /** Source of every leaf (dotted path), when ok. */
  readonly sources: ReadonlyMap<string, ConfigSource>;
  /** The file's declarative change policies. */
  readonly rules: readonly ChangePolicyRule[];
  /** Every problem found (empty when ok). */
  readonly problems: readonly ConfigProblem[];
}

const hasPrefix = (given: ReadonlyMap<string, string>, path: string): string | undefined => {
  for (const [p, by] of given) if (path === p || path.startsWith(`${p}.`)) return by;
  return undefined;
};

/**
 * Resolves the effective configuration from a file, the environment and flags, collecting every
 * problem (each with file:line:column, `env NAME` or `flag --set path`) instead of stopping at the
 * first. Never throws for bad input: problems are the result.
 */
export async function resolveConfig<T extends Record<string, unknown>>(
  options: ResolveConfigOptions<T>,
): Promise<ResolvedConfig<T>> {
  const fail = (problems: ConfigProblem[]): ResolvedConfig<T> => ({
    ok: false,
    sources: new Map(),
    rules: [],
    problems,
  });
  let file: ParsedConfigFile | undefined;
  if (options.file !== undefined) {
    try {
      file = await readConfigFile(options.file);
    } catch (error) {
      if (!isForgeError(error)) throw error;
      const line = error.details['line'];
      const column = error.details['column'];
      const where =
        typeof line === 'number' && typeof column === 'number'
          ? `${options.file}:${line}:${column}`
          : options.file;
      const prefix = where === options.file ? `${options.file}: ` : `${where}: `;
      const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
      return fail([{ code: error.code, where, message }]);
    }
  }
  const schema = options.schema as unknown as ConfigSchema;
  const problems: ConfigProblem[] = [];
  const at = (path: readonly string[], key = false): string => {
    const pos = file?.locate(path, { key });
    return pos ? `${file!.file}:${pos.line}:${pos.column}` : (file?.file ?? '(defaults)');
  };

  // The file: sections, and the reserved `changePolicies` list.
  let fileSections: Record<string, unknown> = {};
  let rules: ChangePolicyRule[] = [];
  if (file) {
    if (!isPlainObject(file.value)) {
      problems.push({
        code: 'FORGE_CONFIG_INVALID',
        where: at([]),
        message: 'expected a mapping of sections',
        path: '(root)',
      });
    } else {
      const { changePolicies, ...sections } = file.value;
      fileSections = sections;
      if (changePolicies !== undefined) {
        const parsed = ChangePolicyRulesSchema.safeParse(changePolicies);
        if (parsed.success) rules = parsed.data;
        else
          for (const issue of parsed.error.issues) {
            const path = ['changePolicies', ...issue.path.map(String)];
            problems.push({
              code: 'FORGE_CONFIG_POLICY_INVALID',
              where: at(path),
              message: `${path.join('.')}: ${issue.message}`,
              path: path.join('.'),
            });
          }
      }
    }
  }
  const env = readEnvLayer(schema, options.env ?? {});
  const flags = readFlagLayer(schema, options.sets ?? []);
  for (const layer of [env, flags])
    for (const p of layer.problems) problems.push({ code: p.code, where: p.where, message: p.message });

  const merged = deepMerge(deepMerge(fileSections, env.value), flags.value);
  const whereOf = (path: string, key: boolean): string => {
    const by = hasPrefix(flags.givenBy, path) ?? hasPrefix(env.givenBy, path);
    if (by !== undefined) return by;
    return at(path === '(root)' ? [] : path.split('.'), key);
  };
  for (const issue of schema.issues(merged)) {
    const unknownKey = issue.code === 'FORGE_CONFIG_UNKNOWN_KEY';
    problems.push({
      code: issue.code,
      where: whereOf(issue.path, unknownKey),
      message: `${issue.path}: ${issue.message}`,
      path: issue.path,
    });
  }
  if (problems.length > 0) return fail(problems);

  const config = options.schema.parse(merged);
  let policies: ChangePolicy<T>[];
  try {
    policies = [
      ...(compileChangePolicyRules(schema, rules) as ChangePolicy<T>[]),
      ...(options.policies ?? []),
    ];
  } catch (error) {
    if (!isForgeError(error)) throw error;
    const index = /changePolicies\[(\d+)\]/.exec(error.message)?.[1];
    return fail([
      {
        code: error.code,
        where: at(index === undefined ? ['changePolicies'] : ['changePolicies', index]),
        message: error.message,
      },
    ]);
  }
  const initial: ConfigChange<T> = {
    kind: 'initial',
    version: 1,
    actor: { id: 'system', roles: ['system'] },
    reason: 'initial configuration',
    changes: diffLeaves({}, config),
    before: config,
    after: config,
  };
  for (const policy of policies) {
    let verdict: unknown;
    try {
      verdict = await policy.check(initial);
    } catch (cause) {
      verdict = cause instanceof Error ? cause.message : String(cause);
    }
    if (verdict === true || verdict === undefined) continue;
    problems.push({
      code: 'FORGE_CONFIG_CHANGE_REFUSED',
      where: file?.file ?? '(defaults)',
      message: `refused by rule ${policy.name}: ${typeof verdict === 'string' ? verdict : 'refused'}`,
    });
  }
  if (problems.length > 0) return fail(problems);

  const sources = new Map<string, ConfigSource>();
  for (const path of leaves(config).keys()) sources.set(path, sourceOf(path, flags, env, file));
  return { ok: true, config, sources, rules, problems: [] };
}

function sourceOf(
  path: string,
  flags: TextLayer,
  env: TextLayer,
  file: ParsedConfigFile | undefined,
): ConfigSource {
  const flag = hasPrefix(flags.givenBy, path);
  if (flag !== undefined) return { kind: 'flag', flag };
  const name = hasPrefix(env.givenBy, path);
  if (name !== undefined) return { kind: 'env', name: name.replace(/^env /, '') };
  const steps = path.split('.');
  if (file?.has(steps)) {
    const pos = file.locate(steps);
    if (pos) return { kind: 'file', file: file.file, line: pos.line, column: pos.column };
  }
  return { kind: 'default' };
}

/** Like resolveConfig, but throws the first problem as a ForgeError (the message says where and how many). */
export async function loadConfig<T extends Record<string, unknown>>(
  options: ResolveConfigOptions<T>,
): Promise<{
  readonly config: T;
  readonly sources: ReadonlyMap<string, ConfigSource>;
  readonly rules: readonly ChangePolicyRule[];
}> {
  const resolved = await resolveConfig(options);
  const first = resolved.problems[0];
  if (!resolved.ok || resolved.config === undefined) {
    const more = resolved.problems.length > 1 ? ` (+${resolved.problems.length - 1} more)` : '';
    throw new ForgeError(
      first?.code ?? 'FORGE_CONFIG_INVALID',
      `${first?.where ?? '(config)'}: ${first?.message ?? 'invalid'}${more}`,
      {
        details: { where: first?.where ?? null, problems: resolved.problems.length },
      },
    );
  }
  return { config: resolved.config, sources: resolved.sources, rules: resolved.rules };
}
