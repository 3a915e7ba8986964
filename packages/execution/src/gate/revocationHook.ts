import type { SyscallEnforcerPort } from '@forgeone/common';
import type { GateSlot } from './gateSlot';

/**
 * Ties a gate's reused decisions to its enforcer's promises: when the enforcer withdraws them
 * (`onRevoke`, a live policy swapped in), every slot forgets the decision it reuses, so the next
 * call of each syscall leaves the hot path and is decided again. A call in progress keeps the
 * enforcement it was admitted with (the gate holds it in a local). Nothing is added per call:
 * the hot path already reads `slot.hot`.
 */
export function watchRevocations(
  enforcer: SyscallEnforcerPort,
  slots: ReadonlyMap<unknown, GateSlot>,
): (() => void) | undefined {
  if (typeof enforcer.onRevoke !== 'function') return undefined;
  return enforcer.onRevoke(() => {
    for (const slot of slots.values()) {
      if (slot.reused === undefined) continue;
      slot.reused = undefined;
      slot.update();
    }
  });
}
