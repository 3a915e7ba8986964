import { ForgeError, type ForgeErrorCode } from '@forgeone/common';

/** Codes of static-check findings that do not stop a policy from loading. */
export const policyWarningCodes = [
  'unreachable-node',
  'unreachable-rule',
  'never-matches',
  'shadowed-rule',
  'wider-than-capability',
  'beyond-capabilities',
] as const;
export type PolicyWarningCode = (typeof policyWarningCodes)[number];

/** One problem found in a policy document, located as precisely as the source allows. */
export interface PolicyIssue {
  /** `error` refuses the policy; `warning` is reported by `policy check` and on load. */
  readonly severity: 'error' | 'warning';
  /** A ForgeError code for errors; a check name for warnings. */
  readonly code: ForgeErrorCode | PolicyWarningCode;
  /** Where inside the document, e.g. `spec.nodes[0].rules[2].match.args.path.regex`. */
  readonly path: string;
  readonly message: string;
  /** The file the document came from, when it came from one. */
  readonly file?: string;
  /** 1-based line and column of `path` in the file (YAML and JSON sources). */
  readonly line?: number;
  readonly column?: number;
}

/** `policy.yaml:14:9 spec.nodes[0].rules[1]: message` — where first, so editors can jump to it. */
export function formatPolicyIssue(issue: PolicyIssue): string {
  const where = issue.file
    ? `${issue.file}${issue.line === undefined ? '' : `:${issue.line}:${issue.column ?? 1}`} `
    : issue.line === undefined
      ? ''
      : `line ${issue.line}: `;
  return `${where}${issue.path}: ${issue.message}`;
}

/**
 * The one ForgeError for a refused policy: the code of the first error, every problem listed in the
 * message (so nothing has to be fixed blind), and the first one's file and path in the details.
 */
export function policyRefusal(issues: readonly PolicyIssue[], what = 'policy'): ForgeError {
  const errors = issues.filter((issue) => issue.severity === 'error');
  const first = errors[0] ?? issues[0];
  if (!first) return new ForgeError('FORGE_POLICY_INVALID', `the ${what} was refused`);
  const code = first.code as ForgeErrorCode;
  const listed = errors.slice(0, 20).map(formatPolicyIssue);
  const more = errors.length > listed.length ? `; and ${errors.length - listed.length} more` : '';
  const file = first.file ?? null;
  return new ForgeError(
    code,
    `the ${what}${file ? ` ${file}` : ''} was refused (${errors.length} problem${errors.length === 1 ? '' : 's'}; nothing was applied): ${listed.join('; ')}${more}`,
    {
      details: {
        file,
        path: first.path,
        line: first.line ?? null,
        column: first.column ?? null,
        problems: errors.length,
      },
    },
  );
}
