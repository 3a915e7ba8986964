import type { KernelEventBus } from '@forgeone/common';
import type { CallRecorder } from '@forgeone/observer';
import type { GateCallTiming } from './callTiming';
import type { GateRateWindow } from './rateWindow';
import type { GateSlot } from './gateSlot';
import type { GuestMemory, MemoryWriteSink } from './guestMemory';
import type { WasmValue } from './syscallDefinition';

/** A function a guest imports. */
export type GuestImport = (...args: WasmValue[]) => WasmValue | undefined;

/**
 * How many calls the hot imports may take between two calls of the gate's general path: up to the
 * next timed call and the end of the rate window (none once the guest exited). The hot imports
 * count `left` down; the general path charges what they used to the timing and the rate window.
 */
export class HotCallBudget {
  left = 0;
  #granted = 0;

  readonly #timing: GateCallTiming;
  readonly #rate: GateRateWindow;

  constructor(timing: GateCallTiming, rate: GateRateWindow) {
    this.#timing = timing;
    this.#rate = rate;
  }

  /** Charges the hot calls made since the last `grant` to the timing and the rate window; none may run now. */
  settle(): void {
    const used = this.#granted - Math.max(this.left, 0);
    this.#timing.charge(used);
    this.#rate.charge(used);
    this.left = 0;
    this.#granted = 0;
  }

  /** Hot calls may go on until the next timed call or the end of the rate window (none when `closed`). */
  grant(closed: boolean): void {
    let budget = closed ? 0 : this.#timing.untilTimed;
    if (this.#rate.limited && this.#rate.left < budget) budget = this.#rate.left;
    budget = Math.max(0, budget);
    this.left = budget;
    this.#granted = budget;
  }
}

/** What a gate gives its hot imports. */
export interface HotGate {
  readonly calls: HotCallBudget;
  readonly timing: GateCallTiming;
  readonly memory: GuestMemory;
  /** The guest memory's write sink during a call: the recorder's, or none when writes are not kept. */
  readonly writes: MemoryWriteSink | undefined;
  readonly recorder: CallRecorder;
  readonly checkpoint: (() => void) | undefined;
  /** The kernel's events: a call listened to (`syscall.decided`) goes to `finish`. */
  readonly events: KernelEventBus | undefined;
  /** The gate's general path: any call the hot path does not take. */
  general(slot: GateSlot, params: WasmValue[]): WasmValue | undefined;
  /** A hot call that threw (a fault, an exit, a host error): what the guest gets, or a rethrow. */
  threw(slot: GateSlot, params: WasmValue[], error: unknown): WasmValue | undefined;
  /** Records and learns a hot call the hot entry point does not take (its result is not a number, or it is listened to). */
  finish(slot: GateSlot, params: WasmValue[], result: WasmValue | undefined): void;
}
