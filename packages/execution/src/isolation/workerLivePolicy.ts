import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { SwappableEnforcer, livePolicyOfSpec, type LivePolicyState } from '@forgeone/trust';
import { createEnforcerFromSpec, type EnforcerSpec } from '../gate/enforcerSpec';
import { worldSyscallNames, type WorldHooks } from '../world/guestWorld';

/**
 * How a worker's guest follows a live policy: the main thread posts each new version on `port`,
 * then bumps word 0 of `generation`. The guest runs synchronously, so the worker cannot take a
 * message while it runs: its checkpoint (before every call, hot ones too) compares the word with
 * the last it saw, one atomic load, and only when it moved takes the versions off the port
 * (`receiveMessageOnPort`) and swaps its enforcer before the call is decided.
 */
export interface LivePolicyWire {
  readonly generation: SharedArrayBuffer;
  readonly port: MessagePort;
  readonly followMode: boolean;
  /** The version in force when the lane was opened (the spec's may be older: then sent at once). */
  readonly state: LivePolicyState;
}

/** The main thread's end: the wire to send with `instantiate` (its port transferred), and `close`. */
export interface LivePolicyLane {
  readonly wire: LivePolicyWire;
  close(): void;
}

/** Opens a lane when `spec` is a live policy's launch spec (else undefined: nothing changes). */
export function openLivePolicyLane(spec: EnforcerSpec): LivePolicyLane | undefined {
  const link = livePolicyOfSpec(spec);
  if (link === undefined) return undefined;
  const generation = new SharedArrayBuffer(4);
  const word = new Int32Array(generation);
  const { port1, port2 } = new MessageChannel();
  const unsubscribe = link.subscribe((state) => {
    // The version first, then the word: a worker that sees the word finds the version queued.
    port1.postMessage(state);
    Atomics.add(word, 0, 1);
  });
  return {
    wire: { generation, port: port2, followMode: link.followMode, state: link.state() },
    close() {
      unsubscribe();
      port1.close();
    },
  };
}

/** The worker's end of a lane: the check its checkpoint runs, and `close`. */
export interface WorkerLivePolicy {
  /** Takes a version posted since the last check, if any (one atomic load when there is none). */
  check(): void;
  close(): void;
}

/**
 * A worker guest's hooks, given its `instantiate` message: unchanged without a lane; with one, an
 * enforcer that follows the live policy (built with these hooks) and a checkpoint that looks for a
 * new version before each call. `onLive` receives the lane's worker end.
 */
export function livePolicyHooks(
  message: object,
  spec: EnforcerSpec,
  onLive: (live: WorkerLivePolicy) => void,
  hooks: WorldHooks,
): WorldHooks {
  const wire = (message as { livePolicy?: LivePolicyWire }).livePolicy;
  if (wire === undefined) return hooks;
  const word = new Int32Array(wire.generation);
  const { port } = wire;
  const known = worldSyscallNames();
  const enforcer = new SwappableEnforcer(
    spec,
    wire.state,
    hooks,
    (s, h) => createEnforcerFromSpec(s, h, known),
    wire.followMode,
  );
  // From 0, not the word as it is now: a version posted before this worker started is taken too.
  let seen = 0;
  const live: WorkerLivePolicy = {
    check() {
      const now = Atomics.load(word, 0);
      if (now === seen) return;
      let latest: LivePolicyState | undefined;
      for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port))
        latest = m.message as LivePolicyState;
      if (latest === undefined) return; // not queued yet: looked at again at the next call
      seen = now;
      try {
        enforcer.swap(latest);
      } catch {
        // Compiled on the main thread already; a guest whose own bounds fail it stays as it was.
      }
    },
    close: () => port.close(),
  };
  onLive(live);
  const checkpoint = hooks.checkpoint;
  return {
    ...hooks,
    enforcer,
    checkpoint: () => {
      if (checkpoint !== undefined) checkpoint();
      live.check();
    },
  };
}
