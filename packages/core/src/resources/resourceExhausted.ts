import { ForgeError } from '@forgeone/common';
import type { BudgetName } from './resourceAdmission';

/** What a refusal says of the budget that does not fit. */
export interface Shortfall {
  readonly budget: BudgetName;
  readonly requested: number;
  readonly available: number;
  readonly identity?: string;
}

const WHAT: Record<BudgetName, string> = {
  memoryPages: 'memory pages across containers',
  workers: 'worker threads',
  containersPerIdentity: 'containers of one identity',
  cpuMs: 'wall-clock ms of guest calls per container',
};

/** FORGE_RESOURCE_EXHAUSTED naming the budget, what was asked and what is left. */
export function resourceExhausted(shortfall: Shortfall, budget: number): ForgeError {
  const { requested, available, identity } = shortfall;
  const whose = identity === undefined ? '' : ` for ${identity}`;
  return new ForgeError(
    'FORGE_RESOURCE_EXHAUSTED',
    `the kernel's ${shortfall.budget} budget (${WHAT[shortfall.budget]}: ${budget}) is exhausted${whose}: asked for ${requested}, ${available} left; wait for containers to end or raise resources.${shortfall.budget} in the kernel configuration`,
    {
      details: {
        budget: shortfall.budget,
        requested,
        available,
        limit: budget,
        ...(identity === undefined ? {} : { identity }),
      },
    },
  );
}
