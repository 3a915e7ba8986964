import type { MatchCondition, PolicyDocument } from '../policyDocument';
import { compileSelector, type SyscallSelector } from './compileConditions';

/**
 * What a policy's conditions read of a caller's history: the per-container counts an enforcer
 * keeps of the calls it decides. A call whose decision the gate reuses is never decided again, so
 * it is missing from those counts; a syscall whose calls some condition counts must be seen every
 * time.
 */
export interface HistoryReads {
  /**
   * Some condition reads a count over every call: a trust score (its behaviour signal is the share
   * of refused calls), or a marker on refusals, deviation or new syscalls.
   */
  readonly everyCall: boolean;
  /** Markers count the calls of the syscalls these select. */
  readonly calls: readonly SyscallSelector[];
  /** Markers count the calls these rules (`node/rule`) decided. */
  readonly ruleHits: ReadonlySet<string>;
}

/** The history the rules and edges of `document` read, through trust scores and the markers they use. */
export function historyReadsOf(document: PolicyDocument): HistoryReads {
  const matches: MatchCondition[] = [
    ...document.spec.nodes.flatMap((node) => node.rules.map((rule) => rule.match)),
    ...document.spec.edges.flatMap((edge) => (edge.when ? [edge.when] : [])),
  ];
  let everyCall = matches.some((match) => match.trust !== undefined);
  const calls: SyscallSelector[] = [];
  const ruleHits = new Set<string>();
  const used = new Set(matches.flatMap((m) => [...(m.dna?.markers ?? []), ...(m.dna?.anyMarkers ?? [])]));
  for (const name of used) {
    const marker = document.spec.markers[name];
    // Markers are checked to exist before compiling; a missing one is not known to read nothing.
    if (!marker) {
      everyCall = true;
      continue;
    }
    for (const [field, value] of Object.entries(marker)) {
      if (value === undefined || field === 'description' || field === 'external') continue;
      if (field === 'calls' && marker.calls) {
        calls.push(compileSelector(marker.calls.syscalls));
      } else if (field === 'ruleHits' && marker.ruleHits) {
        for (const rule of marker.ruleHits.rules) ruleHits.add(rule);
      } else {
        // denied, deviation, newSyscalls, or a field added later: a count over every call.
        everyCall = true;
      }
    }
  }
  return { everyCall, calls, ruleHits };
}
