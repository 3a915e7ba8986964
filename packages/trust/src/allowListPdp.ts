import { ForgeError, type Decision, type PolicyDecisionPoint, type SyscallRequest } from '@forgeone/common';

export interface AllowListOptions {
  /**
   * Every syscall name that exists. When given, an allow-list entry that names none of them is
   * refused (FORGE_POLICY_UNKNOWN_SYSCALL) instead of silently allowing nothing.
   */
  readonly knownSyscalls?: Iterable<string>;
}

const ENTRY = /^[a-z][a-z0-9_]*\.(?:\*|[a-z][a-z0-9_]*)$/;

/**
 * Checks allow-list entries without building a PDP, as the AllowListPdp built from them would:
 * each is `<namespace>.<name>` or `<namespace>.*` and, with `knownSyscalls`, names a syscall that
 * exists (else FORGE_POLICY_UNKNOWN_SYSCALL). Returns the entries trimmed.
 */
export function checkAllowList(entries: Iterable<string>, options: AllowListOptions = {}): string[] {
  const known = options.knownSyscalls ? new Set(options.knownSyscalls) : undefined;
  const list: string[] = [];
  for (const raw of entries as Iterable<unknown>) {
    // Lists come from outside (JSON, YAML, API bodies): an entry that is not text is refused alike.
    if (typeof raw !== 'string') {
      throw new ForgeError(
        'FORGE_POLICY_UNKNOWN_SYSCALL',
        `${JSON.stringify(raw) ?? String(raw)} is not a syscall name; expected <namespace>.<name> such as forge.log, or <namespace>.*`,
        { details: { entry: String(raw) } },
      );
    }
    const entry = raw.trim();
    if (!ENTRY.test(entry)) {
      throw new ForgeError(
        'FORGE_POLICY_UNKNOWN_SYSCALL',
        `'${raw}' is not a syscall name; expected <namespace>.<name> such as forge.log, or <namespace>.*`,
        { details: { entry: raw } },
      );
    }
    const [namespace] = entry.split('.') as [string, string];
    if (known) {
      const matches = entry.endsWith('.*')
        ? [...known].some((name) => name.startsWith(`${namespace}.`))
        : known.has(entry);
      if (!matches) {
        throw new ForgeError(
          'FORGE_POLICY_UNKNOWN_SYSCALL',
          `unknown syscall '${entry}' in the allow-list; known: ${[...known].sort().join(', ')}`,
          { details: { entry } },
        );
      }
    }
    list.push(entry);
  }
  return list;
}

/**
 * The simplest zero-trust PDP: default deny, allow exactly the listed syscalls. Entries are exact
 * names (`forge.log`) or a whole namespace (`wasi.*`). Decisions are precomputed per name, so
 * `decide` is one map lookup.
 */
export class AllowListPdp implements PolicyDecisionPoint {
  readonly #exact = new Set<string>();
  readonly #namespaces = new Set<string>();
  readonly #cache = new Map<string, Decision>();
  readonly entries: readonly string[];
  /** An allow-list looks at the syscall name only. */
  readonly decidesBySyscallOnly = true;

  constructor(entries: Iterable<string>, options: AllowListOptions = {}) {
    this.entries = checkAllowList(entries, options);
    for (const entry of this.entries) {
      if (entry.endsWith('.*')) this.#namespaces.add(entry.slice(0, -2));
      else this.#exact.add(entry);
    }
  }

  decide(request: SyscallRequest): Decision {
    const cached = this.#cache.get(request.syscall);
    if (cached) return cached;
    const decision = this.#decideName(request.syscall);
    this.#cache.set(request.syscall, decision);
    return decision;
  }

  #decideName(syscall: string): Decision {
    if (this.#exact.has(syscall)) {
      return {
        action: 'allow',
        reasons: [{ policy: 'allow-list', rule: syscall, message: `${syscall} is allowed` }],
      };
    }
    const dot = syscall.indexOf('.');
    const namespace = dot > 0 ? syscall.slice(0, dot) : '';
    if (this.#namespaces.has(namespace)) {
      return {
        action: 'allow',
        reasons: [
          {
            policy: 'allow-list',
            rule: `${namespace}.*`,
            message: `${syscall} is allowed by ${namespace}.*`,
          },
        ],
      };
    }
    return {
      action: 'deny',
      reasons: [{ policy: 'default', message: `${syscall} is not in the allow-list (default deny)` }],
    };
  }
}
