import vm from 'node:vm';

/** Thrown by {@link callWithDeadline} when V8 stopped the call at its deadline. */
export class DeadlineExpired extends Error {
  override readonly name = 'DeadlineExpired';
  constructor(readonly timeoutMs: number) {
    super(`the call ran past its deadline of ${timeoutMs} ms`);
  }
}

/** The slot the one script calls through: set for each call, so the script is compiled once. */
interface CallSlot {
  forgeoneCall?: (() => unknown) | undefined;
}

const MAX_TIMEOUT_MS = 2 ** 32 - 1;
let context: vm.Context | undefined;
let script: vm.Script | undefined;

/**
 * Runs `fn` on this thread and stops it after `timeoutMs` wherever it is, even inside a guest loop
 * that never calls the host: `node:vm`'s timeout, whose watchdog thread has V8 terminate the
 * running code (WebAssembly checks for that at every loop back-edge). Costs about 0.1 ms per call
 * (Node starts a watchdog thread per timed run).
 *
 * A terminated call unwinds without running `finally` blocks or `catch` handlers below this one:
 * whatever it was in the middle of (a guest, its gate) must be thrown away, never called again.
 * Nested calls (a guest calling a plugin inline) each keep their own deadline.
 */
export function callWithDeadline<T>(fn: () => T, timeoutMs: number): T {
  // Past what node:vm takes (2^32 - 1 ms, ~50 days), and Infinity: no deadline.
  if (timeoutMs > MAX_TIMEOUT_MS) return fn();
  context ??= vm.createContext(Object.create(null) as object);
  script ??= new vm.Script('forgeoneCall()', { filename: 'forgeone:inline-deadline' });
  const slot = context as CallSlot;
  const outer = slot.forgeoneCall;
  slot.forgeoneCall = fn;
  try {
    // NaN (no sensible deadline was given) gets the shortest one rather than none.
    const timeout = Number.isFinite(timeoutMs) ? Math.max(1, Math.ceil(timeoutMs)) : 1;
    return script.runInContext(context, { timeout }) as T;
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      throw new DeadlineExpired(timeoutMs);
    }
    throw error;
  } finally {
    slot.forgeoneCall = outer;
  }
}
