import { ForgeError } from '@forgeone/common';
import { FairSharePolicy } from './fairSharePolicy';
import { FifoPolicy } from './fifoPolicy';
import { PriorityPolicy } from './priorityPolicy';
import { policyNames, type PolicyName, type SchedulingPolicy } from './schedulingPolicy';

/** The policy a scheduler is given: a built-in one by name, or a custom object. */
export type SchedulingPolicyChoice = PolicyName | SchedulingPolicy;

export interface PolicyTuning {
  /** `priority` and `fair-share`: one priority level gained per this many ms waited (default 5000). */
  readonly agingMs?: number;
  /** `fair-share`: weight per tenant (default 1). */
  readonly weights?: Readonly<Record<string, number>>;
}

const METHODS = ['add', 'remove', 'peek', 'take'] as const;

/** A fresh policy for a name, or the custom object checked for the methods the scheduler calls. */
export function createPolicy(choice: SchedulingPolicyChoice, tuning: PolicyTuning = {}): SchedulingPolicy {
  const aging = tuning.agingMs === undefined ? {} : { agingMs: tuning.agingMs };
  if (typeof choice === 'string') {
    switch (choice) {
      case 'fifo':
        return new FifoPolicy();
      case 'priority':
        return new PriorityPolicy(aging);
      case 'fair-share':
        return new FairSharePolicy({ ...aging, ...(tuning.weights ? { weights: tuning.weights } : {}) });
      default:
        throw new ForgeError(
          'FORGE_SCHEDULER_POLICY',
          `unknown scheduling policy '${String(choice)}'; use one of ${policyNames.join(', ')} or a custom policy object`,
          { details: { policy: String(choice) } },
        );
    }
  }
  const missing = METHODS.filter(
    (method) => typeof (choice as unknown as Record<string, unknown>)?.[method] !== 'function',
  );
  if (choice === null || typeof choice !== 'object' || missing.length > 0) {
    throw new ForgeError(
      'FORGE_SCHEDULER_POLICY',
      `a custom scheduling policy must be an object with ${METHODS.join(', ')} methods${missing.length > 0 ? ` (missing ${missing.join(', ')})` : ''}`,
      { details: { policy: 'custom' } },
    );
  }
  return choice;
}
