import type { ForgeError } from '@forgeone/common';
import type { InvokeCallOptions, WasmHost, WasmInstance } from '@forgeone/execution';
import { RequestMarks } from '../requestMarks';
import type { RunAudit } from '../runAudit';
import type { Allocation } from '../resources/resourceAdmission';
import type { ContainerInfo } from './containerInfo';

/**
 * A container this kernel runs: its instance, what it holds (an allocation, an audit), and the
 * queue its calls wait in. An instance runs one call at a time, so calls are taken in order; while
 * the container is held (paused, quarantined) the next call waits — in both isolations — and the
 * call in flight (a worker's) is stopped at its next syscall by the instance itself.
 */
export class LiveContainer {
  info: ContainerInfo;
  instance: WasmInstance | undefined;
  /** The host that made the instance (it forgets the instance when the container ends). */
  host: WasmHost | undefined;
  allocation: Allocation | undefined;
  audit: RunAudit | undefined;
  /** Which API request made which of its calls (its audit entries name them). */
  requests: RequestMarks = new RequestMarks();
  /** Deadline and fuel of each call (the host's limits). */
  callOptions: InvokeCallOptions = {};
  /** A redzone record was made for it (its end then ends a record still held). */
  recorded = false;
  /** The redzone record being written (settled once it is, failed or not): release and terminate wait for it. */
  recording: Promise<void> | undefined;
  /** An inline command whose `_start` a quarantine cut: released, it has nothing left to run and ends. */
  cut = false;
  /** Resolves once the container ended and gave back what it held (set when it reaches a terminal state). */
  ended: Promise<void> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #hold: { readonly promise: Promise<void>; readonly release: () => void } | undefined;
  #inFlight = false;
  /** Calls waiting behind the one in flight. */
  #queued = 0;
  /** Makes the error a call not yet started is refused with (made only when one is: most stops refuse none). */
  #refusal: (() => ForgeError) | undefined;
  #blockedWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];

  constructor(info: ContainerInfo) {
    this.info = info;
  }

  /** True while a call runs in the guest. */
  get busy(): boolean {
    return this.#inFlight;
  }

  /** Runs `call` after every call queued before it, once the container is not held. */
  enqueue<T>(call: () => Promise<T>): Promise<T> {
    // Nothing ahead of it: it starts now (the common case, without a turn of the queue).
    if (this.#queued === 0 && !this.#inFlight && this.#hold === undefined && this.#refusal === undefined) {
      const run = this.#run(call);
      this.#queue = run.catch(() => undefined);
      return run;
    }
    this.#queued += 1;
    const run = this.#queue.then(async () => {
      this.#queued -= 1;
      while (this.#hold !== undefined && this.#refusal === undefined) await this.#hold.promise;
      if (this.#refusal !== undefined) throw this.#refusal();
      return this.#run(call);
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Whether a synchronous call may run at once: nothing queued or running and the container not
   * held (an idle inline service: no promise, no turn of the queue). True: the caller runs it now,
   * and it is in flight until `endNow`, which must follow.
   */
  beginNow(): boolean {
    if (this.#queued !== 0 || this.#inFlight || this.#hold !== undefined || this.#refusal !== undefined)
      return false;
    this.#inFlight = true;
    return true;
  }

  /** The call `beginNow` let run has ended. */
  endNow(): void {
    this.#inFlight = false;
    this.#wake();
  }

  #run<T>(call: () => Promise<T>): Promise<T> {
    this.#inFlight = true;
    let running: Promise<T>;
    try {
      running = call();
    } catch (error) {
      running = Promise.reject(error as Error);
    }
    return running.finally(() => {
      this.#inFlight = false;
      this.#wake();
    });
  }

  /** The next call waits until `unhold` (the call in flight is the instance's to stop). */
  hold(): void {
    if (this.#hold !== undefined) return;
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.#hold = { promise, release };
  }

  unhold(): void {
    const hold = this.#hold;
    this.#hold = undefined;
    hold?.release();
  }

  /** Holds the container: the next call waits, and the call in flight stops at its next syscall. */
  pauseGuest(): void {
    this.hold();
    const instance = this.instance;
    if (instance !== undefined && (instance.state === 'created' || instance.state === 'running'))
      instance.pause();
  }

  /** Lets the guest held at its syscall run on, and the next call start. */
  resumeGuest(): void {
    if (this.instance?.state === 'paused') this.instance.resume();
    this.unhold();
  }

  /** Gives the allocation back (once; a faulty manager must not keep a container from ending). */
  releaseAllocation(): void {
    const allocation = this.allocation;
    this.allocation = undefined;
    try {
      allocation?.release();
    } catch {
      // The container ends all the same.
    }
  }

  /** Calls not yet started are refused with the error `refusal` makes, from now on (a stop, an end). */
  refuse(refusal: () => ForgeError): void {
    this.#refusal ??= refusal;
    this.unhold();
  }

  /** The instance reported its guest blocked at a syscall (its `onPaused`). */
  notePaused(): void {
    const waiters = this.#blockedWaiters;
    this.#blockedWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves once no guest code runs: no call in flight, or the one in flight is blocked at a syscall. */
  whenBlocked(): Promise<void> {
    if (!this.#inFlight) return Promise.resolve();
    return new Promise((resolve) => this.#blockedWaiters.push(resolve));
  }

  /** Resolves once no call is in flight, or after `ms` (whichever comes first). */
  whenIdle(ms: number): Promise<void> {
    if (!this.#inFlight) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #wake(): void {
    if (this.#blockedWaiters.length === 0 && this.#idleWaiters.length === 0) return;
    const waiters = [...this.#blockedWaiters, ...this.#idleWaiters];
    this.#blockedWaiters = [];
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
