import { isId, type ContainerId } from './ids';

/**
 * The id of one policy decision: the container that made the call and the call's trace sequence
 * number, `dec_<container id's 26 characters>_<seq>`. It is derived, never stored apart: the
 * trace event, the audit record and the API answer that caused the call all name the same one,
 * and nothing is computed on the guest's call path.
 */
export type DecisionId = string & { readonly __idKind: 'decision' };

const DECISION_ID = /^dec_([0-9a-hjkmnp-tv-z]{26})_([1-9][0-9]{0,15})$/;

/** The decision id of call `seq` (1, 2, 3…) of `containerId`. */
export function decisionIdOf(containerId: ContainerId | string, seq: number): DecisionId {
  return `dec_${containerId.slice(4)}_${seq}` as DecisionId;
}

/** The container and call of a decision id; undefined for anything that is not one. */
export function parseDecisionId(
  value: unknown,
): { readonly containerId: ContainerId; readonly seq: number } | undefined {
  if (typeof value !== 'string') return undefined;
  const match = DECISION_ID.exec(value);
  if (match === null) return undefined;
  const seq = Number(match[2]);
  const containerId = `ctr_${match[1]}`;
  if (!Number.isSafeInteger(seq) || !isId('container', containerId)) return undefined;
  return { containerId, seq };
}
