import type { TraceRunContext } from '../traceFile/traceFileSchema';
import type { LlmSummary } from './llmSummary';

type GrantItem = LlmSummary['grant'][number];

/** Most values one grant statement lists; the rest are counted in `more`. */
const LISTED = 16;
/** Longest value shown (package names, subjects, capabilities). */
const VALUE_CHARS = 96;

/**
 * What the run was and was allowed, from its trace header: the package and its signers, the
 * identity decided for, the grant, who decided, the limits. Every value comes from a file someone
 * handed over: each is cleaned (escaped, cut, secrets redacted) by `clean`.
 */
export function grantItems(
  run: TraceRunContext | undefined,
  clean: (text: string, max?: number) => string,
): GrantItem[] {
  if (run === undefined) return [];
  const item = (kind: GrantItem['kind'], values: readonly string[]): GrantItem => {
    const shown = values.slice(0, LISTED).map((value) => clean(value, VALUE_CHARS));
    return values.length > LISTED
      ? { kind, values: shown, more: values.length - LISTED }
      : { kind, values: shown };
  };
  const items: GrantItem[] = [];
  if (run.package !== undefined) {
    items.push(item('package', [`${run.package.name}@${run.package.version}`]));
    items.push(
      item(
        'signers',
        run.package.signers.map((s) => `${s.algorithm}:${s.keyId.slice(0, 16)}`),
      ),
    );
  }
  const { subject, tenant, roles } = run.identity;
  items.push(
    item('identity', [
      subject,
      ...(tenant === undefined ? [] : [`tenant ${tenant}`]),
      ...(roles ?? []).map((role) => `role ${role}`),
    ]),
  );
  items.push(item('capabilities', run.capabilities));
  items.push(item('decider', [run.decider, `mode ${run.mode}`, `isolation ${run.isolation}`]));
  items.push(
    item(
      'limits',
      Object.entries(run.limits).map(([name, value]) => `${name} ${value}`),
    ),
  );
  return items;
}

const LABELS: Record<GrantItem['kind'], string> = {
  package: 'Package',
  signers: 'Signed by',
  identity: 'For',
  capabilities: 'Granted',
  decider: 'Decided by',
  limits: 'Limits',
};

/** One grant statement as a Markdown line; the evidence is the trace's header. */
export function grantLine(g: GrantItem): string {
  const values = g.values.length === 0 ? 'nothing' : g.values.map((v) => `\`${v}\``).join(', ');
  return `- ${LABELS[g.kind]}: ${values}${g.more === undefined ? '' : ` (+${g.more} more)`} [header]`;
}
