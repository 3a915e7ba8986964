import { ForgeError } from '@forgeone/common';
import { defaultResourceBudgets, resourceBudgetBounds, type ResourceBudgets } from '@forgeone/config';
import type { CpuAccount } from './cpuAccount';
import type { Allocation, BudgetName, ResourceAdmission, ResourceRequest } from './resourceAdmission';
import { resourceExhausted, type Shortfall } from './resourceExhausted';
import type { ResourceUsage } from './resourceUsage';

export interface ResourceManagerOptions {
  /** Monotonic ms, for CPU accounting. Default `performance.now`. */
  readonly now?: () => number;
}

/**
 * The kernel-wide budgets (config's `ResourceBudgets`) and the live allocations against them.
 * `allocate` grants a launch or refuses it with FORGE_RESOURCE_EXHAUSTED naming the budget; each
 * allocation gives back all it holds once, on `release()` (a second call does nothing).
 *
 * Memory is reserved up front: a launch holds its whole `memoryPages` limit, what its memory may
 * grow to, for as long as it lives. That is what can be enforced without charging each
 * `memory.grow` inside the gate, and it means a guest that grows never takes pages promised to
 * another; the cost is that budget is held for pages a guest may never touch.
 */
export class ResourceManager implements ResourceAdmission {
  #budgets: ResourceBudgets;
  readonly #now: () => number;
  readonly #live = new Map<string, LiveAllocation>();
  readonly #perIdentity = new Map<string, number>();
  #pages = 0;
  #workers = 0;
  #next = 0;

  constructor(budgets: Partial<ResourceBudgets> = {}, options: ResourceManagerOptions = {}) {
    this.#budgets = checkedBudgets({ ...defaultResourceBudgets, ...definedOnly(budgets) });
    this.#now = options.now ?? (() => performance.now());
  }

  /** The budgets launches are admitted against now. */
  get budgets(): ResourceBudgets {
    return this.#budgets;
  }

  /**
   * New budgets for later launches (validated first: a bad value changes nothing). What runs keeps
   * what it holds, even past a budget that shrank below the live use: new launches are then
   * refused (FORGE_RESOURCE_EXHAUSTED) until enough has ended; nothing running is stopped. A
   * `cpuMs` change applies to allocations made after it.
   */
  setBudgets(budgets: Partial<ResourceBudgets>): void {
    this.#budgets = checkedBudgets({ ...this.#budgets, ...definedOnly(budgets) });
  }

  /** Grants `request` or throws FORGE_RESOURCE_EXHAUSTED naming the budget it does not fit. */
  allocate(request: ResourceRequest): Allocation & CpuAccount {
    const checked = checkRequest(request);
    const shortfall = this.#shortfall(checked);
    if (shortfall !== undefined) throw resourceExhausted(shortfall, this.budgets[shortfall.budget]);
    this.#pages += checked.memoryPages;
    if (checked.worker) this.#workers += 1;
    this.#perIdentity.set(checked.identity, (this.#perIdentity.get(checked.identity) ?? 0) + 1);
    this.#next += 1;
    const allocation = new LiveAllocation(
      `alloc-${this.#next}`,
      checked,
      this.budgets.cpuMs,
      this.#now,
      (a) => this.#free(a),
    );
    this.#live.set(allocation.id, allocation);
    return allocation;
  }

  /** Whether `request` would be granted now. */
  fits(request: ResourceRequest): boolean {
    return this.#shortfall(checkRequest(request)) === undefined;
  }

  /**
   * The budget `request` exceeds even with nothing else allocated (a scheduler refuses such a
   * workload at submission instead of holding it for good), or undefined when it could fit.
   */
  exceeds(request: ResourceRequest): BudgetName | undefined {
    const { memoryPages, worker } = checkRequest(request);
    if (this.budgets.containersPerIdentity < 1) return 'containersPerIdentity';
    if (worker && this.budgets.workers < 1) return 'workers';
    if (memoryPages > this.budgets.memoryPages) return 'memoryPages';
    return undefined;
  }

  /** Live use of every budget. */
  usage(): ResourceUsage {
    const byAllocation: Record<string, number> = {};
    for (const [id, allocation] of this.#live) byAllocation[id] = allocation.usedMs();
    return {
      allocations: this.#live.size,
      memoryPages: { used: this.#pages, budget: this.budgets.memoryPages },
      workers: { used: this.#workers, budget: this.budgets.workers },
      containersPerIdentity: {
        budget: this.budgets.containersPerIdentity,
        byIdentity: Object.fromEntries(this.#perIdentity),
      },
      cpuMs: { budget: this.budgets.cpuMs, byAllocation },
      budgets: this.budgets,
    };
  }

  #shortfall(request: ResourceRequest): Shortfall | undefined {
    const { identity, memoryPages, worker } = request;
    const held = this.#perIdentity.get(identity) ?? 0;
    if (held + 1 > this.budgets.containersPerIdentity) {
      return {
        budget: 'containersPerIdentity',
        requested: 1,
        available: this.budgets.containersPerIdentity - held,
        identity,
      };
    }
    if (worker && this.#workers + 1 > this.budgets.workers)
      return { budget: 'workers', requested: 1, available: this.budgets.workers - this.#workers };
    if (this.#pages + memoryPages > this.budgets.memoryPages) {
      return {
        budget: 'memoryPages',
        requested: memoryPages,
        available: this.budgets.memoryPages - this.#pages,
      };
    }
    return undefined;
  }

  #free(allocation: LiveAllocation): void {
    if (!this.#live.delete(allocation.id)) return;
    const { identity, memoryPages, worker } = allocation.request;
    this.#pages -= memoryPages;
    if (worker) this.#workers -= 1;
    const held = (this.#perIdentity.get(identity) ?? 1) - 1;
    if (held > 0) this.#perIdentity.set(identity, held);
    else this.#perIdentity.delete(identity);
  }
}

/** One granted request and its CPU account. */
class LiveAllocation implements Allocation, CpuAccount {
  #used = 0;
  #callStart: number | undefined;
  #released = false;

  constructor(
    readonly id: string,
    readonly request: ResourceRequest,
    readonly cpuBudgetMs: number,
    private readonly now: () => number,
    private readonly free: (allocation: LiveAllocation) => void,
  ) {}

  release(): void {
    if (this.#released) return;
    this.endCall();
    this.#released = true;
    this.free(this);
  }

  beginCall(): number | undefined {
    if (this.#released) {
      throw new ForgeError('FORGE_KERNEL_STATE', `allocation ${this.id} was released; allocate again`);
    }
    this.endCall();
    if (this.cpuBudgetMs === 0) {
      this.#callStart = this.now();
      return undefined;
    }
    const left = this.cpuBudgetMs - this.#used;
    if (left <= 0) {
      throw resourceExhausted(
        { budget: 'cpuMs', requested: 1, available: 0, identity: this.request.identity },
        this.cpuBudgetMs,
      );
    }
    this.#callStart = this.now();
    return left;
  }

  endCall(): void {
    if (this.#callStart === undefined) return;
    this.#used += Math.max(0, this.now() - this.#callStart);
    this.#callStart = undefined;
  }

  usedMs(): number {
    return this.#used + (this.#callStart === undefined ? 0 : Math.max(0, this.now() - this.#callStart));
  }
}

/** A request checked at the edge: an identity, a whole number of pages, a boolean. */
function checkRequest(request: ResourceRequest): ResourceRequest {
  const { identity, memoryPages, worker } = request;
  if (typeof identity !== 'string' || identity === '')
    throw invalidRequest('identity', 'expected a non-empty identity subject');
  if (!Number.isSafeInteger(memoryPages) || memoryPages < 0)
    throw invalidRequest('memoryPages', `expected an integer >= 0, got ${String(memoryPages)}`);
  if (typeof worker !== 'boolean') throw invalidRequest('worker', 'expected true or false');
  return request;
}

function invalidRequest(field: string, problem: string): ForgeError {
  return new ForgeError('FORGE_INVALID_INPUT', `invalid resource request at ${field}: ${problem}`, {
    details: { field },
  });
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Budgets within their bounds, frozen; FORGE_INVALID_INPUT naming the first that is not. */
function checkedBudgets(merged: ResourceBudgets): ResourceBudgets {
  for (const [name, value] of Object.entries(merged) as [keyof ResourceBudgets, number][]) {
    const { min, max } = resourceBudgetBounds[name];
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new ForgeError(
        'FORGE_INVALID_INPUT',
        `invalid resources.${name}: expected an integer from ${min} to ${max}, got ${String(value)}`,
        { details: { field: `resources.${name}` } },
      );
    }
  }
  return Object.freeze(merged);
}
