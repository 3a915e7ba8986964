import type { Decision, Enforcement, SyscallEnforcerPort } from '@forgeone/common';
import type { CallRecorder } from '@forgeone/observer';
import type { GateSlot } from './gateSlot';

/** A decision the gate stopped asking for: the enforcer promised it for every call of a syscall. */
export interface ReusedDecision {
  readonly enforcement: Enforcement;
  readonly decision: Decision;
  /**
   * Arguments need not be decoded to decide or to trace (the definition's `pureDecode`, and no
   * quarantine to apply): calls may take the hot path, recorded by `template`.
   */
  readonly lazy: boolean;
  /** The recorder's number for the calls of the hot path (CallRecorder.hot); -1 when not `lazy`. */
  readonly template: number;
}

/**
 * Decision reuse: the enforcer marks an answer it would give for every call of a syscall
 * (`Enforcement.reusableBy`); the gate then skips deciding and enforcing for the slot's later
 * calls, and, when arguments decode lazily, records them through the recorder's hot entry point.
 * Returns whether the slot now reuses `enforcement`.
 */
export function reuseIfPromised(
  slot: GateSlot,
  enforcement: Enforcement,
  enforcer: SyscallEnforcerPort,
  recorder: CallRecorder,
): boolean {
  if (enforcement.reusableBy !== enforcer || !enforcement.execute) return false;
  const lazy = slot.definition.pureDecode === true && enforcement.quarantine === undefined;
  const template = lazy ? recorder.hot(slot.recorded, enforcement.decision) : -1;
  slot.reused = { enforcement, decision: enforcement.decision, lazy, template };
  slot.update();
  return true;
}
