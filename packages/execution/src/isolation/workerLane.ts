import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { createOutputRing, resetOutputRing } from './outputRing';
import { createTraceTail } from './traceTail';
import { MAX_WORKER_MODULES, START_TIME_OFFSET, type FromWorker } from './workerProtocol';

/**
 * What a pooled worker shares with the main thread for as long as it lives, lent with the worker
 * to one instance at a time: made once when the worker starts, because a SharedArrayBuffer of the
 * tail's size costs about 0.3 ms to allocate (most of a launch) and a MessageChannel another 30 µs.
 * The instance that borrows the worker resets it (`resetLane`) before it sends `instantiate`.
 */
export interface WorkerLane {
  /**
   * Word 0: 0 run, 1 paused. Word 1: calls the gate saw (written by the worker). A float64 at
   * START_TIME_OFFSET: when the worker started the guest (Date.now(), written by the worker).
   * Word TRACE_TAKEN_WORD (after it): trace messages this thread has taken off the port.
   */
  readonly control: Int32Array;
  /** The worker's newest events not yet posted (see traceTail.ts). */
  readonly tail: SharedArrayBuffer;
  /** The guest's stdout and stderr on their way to this thread (see outputRing.ts). */
  readonly output: SharedArrayBuffer;
  /** Where the worker posts its `trace` messages; read synchronously, also after a terminate. */
  readonly port: MessagePort;
  /** The borrowing instance's handler of trace messages (none between loans). */
  sink: ((message: FromWorker) => void) | undefined;
  /**
   * The compiled modules this worker was sent and keeps (by WireModule.id, oldest first; at most
   * MAX_WORKER_MODULES): a launch of one of them sends its number only (see `noteModuleSent`).
   */
  readonly modulesSent: Set<number>;
}

/**
 * Records that the worker of `lane` was sent module `id` (call it once the message is posted),
 * forgetting the oldest one past MAX_WORKER_MODULES as the worker does on receipt.
 */
export function noteModuleSent(lane: WorkerLane, id: number): void {
  if (lane.modulesSent.has(id)) return;
  if (lane.modulesSent.size >= MAX_WORKER_MODULES) {
    const oldest = lane.modulesSent.values().next().value;
    if (oldest !== undefined) lane.modulesSent.delete(oldest);
  }
  lane.modulesSent.add(id);
}

/** Index (Int32) of the control word that counts the trace messages the main thread has taken. */
export const TRACE_TAKEN_WORD = START_TIME_OFFSET / 4 + 2;

/**
 * How many trace messages a worker may have posted that the main thread has not taken yet: past
 * it the guest waits at its syscall. Without the bound, a guest making millions of calls a second
 * posts batches faster than the main thread can take them, and the main thread (every container's,
 * the kernel's) spends all its time on that queue, which grows without end.
 */
export const MAX_TRACE_MESSAGES_IN_FLIGHT = 4;

/** Counts a trace message taken off the port, and wakes a worker waiting for room. */
export function noteTraceTaken(lane: WorkerLane): void {
  Atomics.add(lane.control, TRACE_TAKEN_WORD, 1);
  Atomics.notify(lane.control, TRACE_TAKEN_WORD);
}

/** The worker's side of a lane, sent in its workerData. */
export interface WorkerLaneEnds {
  readonly control: SharedArrayBuffer;
  readonly tail: SharedArrayBuffer;
  readonly output: SharedArrayBuffer;
  readonly trace: MessagePort;
}

/** A lane and the ends to hand the worker (its port goes in the Worker's transferList). */
export function createWorkerLane(): { lane: WorkerLane; ends: WorkerLaneEnds } {
  const control = new SharedArrayBuffer((TRACE_TAKEN_WORD + 1) * 4);
  const tail = createTraceTail();
  const output = createOutputRing();
  const channel = new MessageChannel();
  const lane: WorkerLane = {
    control: new Int32Array(control),
    tail,
    output,
    port: channel.port1,
    sink: undefined,
    modulesSent: new Set(),
  };
  channel.port1.on('message', (message: FromWorker) => {
    noteTraceTaken(lane);
    lane.sink?.(message);
  });
  channel.port1.unref();
  return { lane, ends: { control, tail, output, trace: channel.port2 } };
}

/** Clears what the last loan left (run flag, call count, start time, trace count, tail, output) for the next instance. */
export function resetLane(lane: WorkerLane): void {
  Atomics.store(lane.control, 0, 0);
  Atomics.store(lane.control, 1, 0);
  new Float64Array(lane.control.buffer, START_TIME_OFFSET, 1)[0] = 0;
  Atomics.store(lane.control, TRACE_TAKEN_WORD, 0);
  Atomics.store(new Int32Array(lane.tail, 0, 1), 0, 0);
  resetOutputRing(lane.output);
}

/** Reads the lane's ends out of a worker's workerData (undefined when the worker was not given one). */
export function laneEndsOf(data: unknown): WorkerLaneEnds | undefined {
  const ends = (data as { lane?: Partial<WorkerLaneEnds> } | null)?.lane;
  return ends?.control instanceof SharedArrayBuffer &&
    ends.tail instanceof SharedArrayBuffer &&
    ends.output instanceof SharedArrayBuffer &&
    ends.trace !== undefined
    ? (ends as WorkerLaneEnds)
    : undefined;
}
