import type { Enforcement, SyscallEnforcerPort } from '@forgeone/common';
import type { CallRecorder } from '@forgeone/observer';
import type { GateSlot } from './gateSlot';

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
