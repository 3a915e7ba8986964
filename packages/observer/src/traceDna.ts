import type { ExecutionDNA } from '@forgeone/common';
import { DnaCounts } from './internal/dnaCounts';
import type { TraceEvent } from './traceEvent';

/**
 * The execution DNA of a recorded run, learned from its trace call by call as the gate learned it
 * live (a refused call is one whose action was not `allow`): what `trace diff` compares, and what a
 * summary reports.
 */
export class TraceDna {
  readonly #counts: DnaCounts;

  constructor(containerId: string) {
    this.#counts = new DnaCounts(containerId);
  }

  /** Learns one recorded call. */
  observe(event: Pick<TraceEvent, 'syscall' | 'action' | 'time'>): void {
    this.#counts.observe(event.syscall, event.action !== 'allow', event.time);
  }

  snapshot(): ExecutionDNA {
    return this.#counts.snapshot();
  }
}
