import { ForgeError } from '@forgeone/common';
import type { Allocation, ResourceRequest } from './resourceAdmission';

/**
 * Refuses an allocation granted earlier (by a scheduler) that does not cover what a run will
 * hold: another identity, fewer memory pages, or no worker for a run in a worker. A run must not
 * hold more than the kernel's budgets counted for it.
 */
export function checkHeldAllocation(allocation: Allocation, needed: ResourceRequest): void {
  const held = allocation.request;
  const short =
    held.identity !== needed.identity
      ? `it was granted to ${JSON.stringify(held.identity)}, the run is ${JSON.stringify(needed.identity)}`
      : held.memoryPages < needed.memoryPages
        ? `it holds ${held.memoryPages} memory pages, the run may reach ${needed.memoryPages}`
        : needed.worker && !held.worker
          ? 'it holds no worker, the run needs one'
          : undefined;
  if (short !== undefined) {
    throw new ForgeError(
      'FORGE_RESOURCE_MISMATCH',
      `allocation ${allocation.id} does not cover the run: ${short}; ask for what the run holds`,
      {
        details: {
          allocation: allocation.id,
          heldIdentity: held.identity,
          heldMemoryPages: held.memoryPages,
          neededMemoryPages: needed.memoryPages,
        },
      },
    );
  }
}
