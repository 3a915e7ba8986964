import type { SyscallEnforcerPort } from '@forgeone/common';
import type { GateSlot, ReusedDecision } from './gateSlot';

/** A reused decision its enforcer withdrew: kept only for a hot call already past its checks. */
type Revoked = ReusedDecision & { readonly revoked: true };

/**
 * Ties a gate's reused decisions to its enforcer's promises: when the enforcer withdraws them
 * (`onRevoke`, a live policy swapped in), every slot leaves the hot path and its next call is
 * decided again (see `liveReused`). The withdrawn decision stays on the slot, marked, for a call
 * already admitted under it: an isolation worker's swap happens in the checkpoint, after a hot
 * call passed its check, and that call finishes (and is recorded) under the version that admitted
 * it. Nothing is added per call: the hot path already reads `slot.hot`.
 */
export function watchRevocations(
  enforcer: SyscallEnforcerPort,
  slots: ReadonlyMap<unknown, GateSlot>,
): (() => void) | undefined {
  if (typeof enforcer.onRevoke !== 'function') return undefined;
  return enforcer.onRevoke(() => {
    for (const slot of slots.values()) {
      const reused = slot.reused;
      if (reused === undefined || (reused as Partial<Revoked>).revoked === true) continue;
      // Not lazy: `hot` turns false; the template stays for the call in flight's record.
      const revoked: Revoked = { ...reused, lazy: false, revoked: true };
      slot.reused = revoked;
      slot.update();
    }
  });
}

/** The slot's reused decision for a new call: none once it was withdrawn (then forgotten). */
export function liveReused(slot: GateSlot): ReusedDecision | undefined {
  const reused = slot.reused;
  if (reused === undefined || (reused as Partial<Revoked>).revoked !== true) return reused;
  slot.reused = undefined;
  slot.update();
  return undefined;
}
