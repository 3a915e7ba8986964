import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ForgeError, coarseClockBuffer } from '@forgeone/common';
import { createWorkerLane, type WorkerLane } from './workerLane';
import type { FromWorker } from './workerProtocol';

export interface WorkerPoolOptions {
  /** Most workers alive at once; further acquisitions wait. Default: 2 x available cores, at least 4. */
  readonly maxWorkers?: number;
  /** Idle workers kept warm for the next instance. Default 1. */
  readonly warm?: number;
  /** The worker script. Default: `hostWorker.js` of this build. */
  readonly script?: URL | string;
  /** V8 heap of each worker in MiB (host-side allocations; guest memory is capped separately). Default 256. */
  readonly maxHeapMb?: number;
}

/** A worker lent to one instance; give it back with `release` or end it with `destroy`. */
export interface PooledWorker {
  readonly worker: Worker;
  /** What the worker shares with the main thread for its whole life (see workerLane.ts). */
  readonly lane: WorkerLane;
  release(): void;
  destroy(): Promise<void>;
}

/**
 * Where the built worker script lies: next to this module in dist, or in dist when running from
 * src/isolation (tests). Built from isolation/workerEntry.ts under its dist name, hostWorker.js.
 */
function defaultScript(): URL {
  const candidates = [
    new URL('./hostWorker.js', import.meta.url),
    new URL('../../dist/hostWorker.js', import.meta.url),
  ];
  const found = candidates.find((url) => existsSync(url));
  if (found === undefined) {
    throw new ForgeError(
      'FORGE_WORKER_FAILED',
      'the isolation worker script (dist/hostWorker.js) is missing: build @forgeone/execution (pnpm run build)',
    );
  }
  return found;
}

/**
 * A small pool of isolation workers. Each worker is lent to one instance for its whole life
 * (instances keep state between calls, which task pools such as piscina or tinypool do not model),
 * returned when the instance is disposed, and destroyed — then replaced — when a deadline has to
 * stop a guest. Idle workers are unref'd so a forgotten pool never keeps the process alive.
 */
export class WorkerPool {
  readonly #max: number;
  readonly #warm: number;
  readonly #script: URL | string;
  readonly #maxHeapMb: number;
  readonly #idle: Worker[] = [];
  readonly #waiting: ((worker: Worker) => void)[] = [];
  readonly #lanes = new WeakMap<Worker, WorkerLane>();
  #alive = 0;
  /** Workers a prewarm is starting (not idle yet). */
  #warming = 0;
  #closed = false;

  constructor(options: WorkerPoolOptions = {}) {
    this.#max = options.maxWorkers ?? Math.max(4, availableParallelism() * 2);
    this.#warm = options.warm ?? 1;
    this.#script = options.script ?? defaultScript();
    this.#maxHeapMb = options.maxHeapMb ?? 256;
  }

  /** Workers alive (busy or idle). */
  get size(): number {
    return this.#alive;
  }

  /** Starts idle workers up to the warm count, so that the next instance does not wait for a thread. */
  async prewarm(): Promise<void> {
    // Counting the workers other prewarms are starting: each launch asks for a prewarm, and while
    // the warm ones are lent, every launch would otherwise start `warm` more threads (each costs
    // milliseconds of CPU to boot) until the pool reached its maximum.
    const starting: Promise<Worker>[] = [];
    while (this.#idle.length + this.#warming + starting.length < this.#warm && this.#alive < this.#max) {
      starting.push(this.#spawn());
    }
    this.#warming += starting.length;
    try {
      for (const worker of await Promise.all(starting)) this.#park(worker);
    } finally {
      this.#warming -= starting.length;
    }
  }

  /** A worker for one instance: an idle one, a new one, or the next one released. */
  async acquire(): Promise<PooledWorker> {
    if (this.#closed) throw new ForgeError('FORGE_WORKER_FAILED', 'the worker pool is closed');
    let worker = this.#idle.pop();
    if (worker === undefined) {
      worker =
        this.#alive < this.#max
          ? await this.#spawn()
          : await new Promise<Worker>((resolve) => this.#waiting.push(resolve));
    }
    worker.ref();
    let done = false;
    const lane = this.#lanes.get(worker)!;
    return {
      worker,
      lane,
      release: () => {
        if (done) return;
        done = true;
        this.#park(worker);
      },
      destroy: async () => {
        if (done) return;
        done = true;
        this.#alive -= 1;
        await worker.terminate();
        lane.port.close();
        if (this.#waiting.length > 0 && !this.#closed) this.#waiting.shift()?.(await this.#spawn());
        else if (!this.#closed) void this.prewarm().catch(() => undefined);
      },
    };
  }

  /** Terminates every worker; instances still running are stopped. */
  async close(): Promise<void> {
    this.#closed = true;
    const idle = this.#idle.splice(0);
    this.#alive -= idle.length;
    await Promise.all(idle.map((worker) => worker.terminate()));
    for (const worker of idle) this.#lanes.get(worker)?.port.close();
  }

  #park(worker: Worker): void {
    if (this.#closed) {
      this.#alive -= 1;
      void worker.terminate().then(() => this.#lanes.get(worker)?.port.close());
      return;
    }
    const next = this.#waiting.shift();
    if (next) {
      next(worker);
      return;
    }
    worker.unref();
    this.#idle.push(worker);
  }

  #spawn(): Promise<Worker> {
    this.#alive += 1;
    return new Promise<Worker>((resolve, reject) => {
      let worker: Worker;
      const { lane, ends } = createWorkerLane();
      try {
        worker = new Worker(this.#script, {
          resourceLimits: { maxOldGenerationSizeMb: this.#maxHeapMb },
          // The process's coarse clock: one ticker thread serves every worker (hostWorker adopts it).
          workerData: { coarseClock: coarseClockBuffer(), lane: ends },
          transferList: [ends.trace],
        });
        this.#lanes.set(worker, lane);
      } catch (error) {
        lane.port.close();
        this.#alive -= 1;
        reject(
          new ForgeError(
            'FORGE_WORKER_FAILED',
            `cannot start an isolation worker: ${(error as Error).message}`,
          ),
        );
        return;
      }
      const onMessage = (message: FromWorker) => {
        if (message.type !== 'ready') return;
        worker.off('error', onError);
        worker.off('message', onMessage);
        // A worker that dies while idle leaves the pool.
        worker.on('exit', () => {
          const index = this.#idle.indexOf(worker);
          if (index >= 0) {
            this.#idle.splice(index, 1);
            this.#alive -= 1;
            lane.port.close();
          }
        });
        resolve(worker);
      };
      const onError = (error: Error) => {
        this.#alive -= 1;
        lane.port.close();
        reject(
          new ForgeError('FORGE_WORKER_FAILED', `the isolation worker failed to start: ${error.message}`),
        );
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
    });
  }
}
