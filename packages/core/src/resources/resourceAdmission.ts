/**
 * The contract between the resource manager and the parts of core that launch work (containers,
 * the scheduler). Implemented by `ResourceManager` (resources/resourceManager.ts); the others take
 * a `ResourceAdmission` as a collaborator and never reach into the manager.
 */

/** What one launch asks for. */
export interface ResourceRequest {
  /** Who the work runs as (identity subject); budgets per identity count against it. */
  readonly identity: string;
  /** Linear memory pages the container may reach (its `memoryPages` limit). */
  readonly memoryPages: number;
  /** Whether the container holds a worker thread (worker isolation) while it lives. */
  readonly worker: boolean;
}

/** A granted request. `release()` returns everything it holds; calling it again does nothing. */
export interface Allocation {
  readonly id: string;
  readonly request: ResourceRequest;
  release(): void;
}

/** Names of the kernel-wide budgets, as a refusal names them. */
export type BudgetName = 'memoryPages' | 'workers' | 'containersPerIdentity' | 'cpuMs';

/** The admission side of the resource manager. */
export interface ResourceAdmission {
  /**
   * Grants `request` or throws ForgeError `FORGE_RESOURCE_EXHAUSTED` whose `details.budget` is the
   * BudgetName that does not fit (and `details.requested`, `details.available`).
   */
  allocate(request: ResourceRequest): Allocation;
  /** Whether `request` would fit now (a scheduler asks before it dequeues). */
  fits(request: ResourceRequest): boolean;
}
