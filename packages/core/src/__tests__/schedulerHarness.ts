import type { ExecutorResult, Workload, WorkloadExecutor } from '../index';

/** Lets the microtasks the scheduler queues (its pump, executor settlements) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** An executor the test drives: it records each start and ends a workload when told to. */
export class ManualExecutor {
  readonly started: string[] = [];
  readonly signals = new Map<string, AbortSignal>();
  readonly #pending = new Map<string, (result: ExecutorResult) => void>();

  readonly run: WorkloadExecutor = (workload: Workload, signal: AbortSignal) => {
    this.started.push(workload.id);
    this.signals.set(workload.id, signal);
    return new Promise<ExecutorResult>((resolve) => {
      this.#pending.set(workload.id, resolve);
      signal.addEventListener('abort', () => {
        this.#pending.delete(workload.id);
        resolve({ exitCode: null, reason: 'aborted' });
      });
    });
  };

  get running(): string[] {
    return [...this.#pending.keys()];
  }

  /** Ends a running workload with an exit code (0: success). */
  finish(id: string, exitCode = 0): void {
    const resolve = this.#pending.get(id);
    if (resolve === undefined) throw new Error(`${id} is not running`);
    this.#pending.delete(id);
    resolve({ exitCode });
  }
}

/** A clock the test moves by hand. */
export class StepClock {
  time = 0;
  now(): number {
    return this.time;
  }
}
