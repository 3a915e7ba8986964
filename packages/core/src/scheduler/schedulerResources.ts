import type { BudgetName, ResourceAdmission, ResourceRequest } from '../resources/resourceAdmission';

/**
 * What the scheduler asks of the resource manager: the admission contract, plus (optionally) the
 * budget a request exceeds even with nothing else allocated. With it, a workload that could never
 * start is refused at submission (FORGE_SCHEDULER_NEVER_FITS); without it, such a workload would
 * wait for good, so give it whenever the manager knows its totals.
 */
export interface SchedulerResources extends ResourceAdmission {
  exceeds?(request: ResourceRequest): BudgetName | undefined;
}
