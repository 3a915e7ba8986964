import { EventEmitter } from 'eventemitter3';
import type { ContainerId } from './ids';
import type { Decision, SyscallRequest } from './syscall';

/** The states of a long-lived container (@forgeone/core's transition table says how they connect). */
export type ContainerStateName =
  'created' | 'starting' | 'running' | 'paused' | 'stopping' | 'stopped' | 'failed' | 'quarantined';

/** One state change of a container, as published and as stored in the container registry. */
export interface ContainerStateEvent {
  readonly containerId: ContainerId;
  readonly name: string;
  readonly state: ContainerStateName;
  /** The state it left; null for the first (`created`). */
  readonly previous: ContainerStateName | null;
  /** Why it failed or was quarantined (a code or a sentence), or `interrupted` after a crash. */
  readonly reason?: string;
  /** When the container was created and when this change happened, ms since the epoch. */
  readonly created_at: number;
  readonly updated_at: number;
}

/** Every event a kernel publishes, with its payload. */
export interface KernelEvents {
  'container.launched': { containerId: ContainerId; subject: string };
  'container.exited': { containerId: ContainerId; exitCode: number | null; reason: string };
  /** A long-lived container changed state (every change, in order). */
  'container.state': ContainerStateEvent;
  'syscall.decided': { request: SyscallRequest; decision: Decision; enforced: boolean };
  'container.quarantined': { containerId: ContainerId; reason: string };
  /** A quarantine record was made (the redzone holds the container, or keeps the record of a run). */
  'quarantine.recorded': {
    containerId: ContainerId;
    reason: string;
    firedRules: readonly string[];
    /** When the stay ends by termination if nobody releases it, ms since the epoch. */
    deadline: number;
  };
  /** A quarantine ended: released (the container runs again) or terminated (by whom, or `redzone` past its time). */
  'quarantine.resolved': {
    containerId: ContainerId;
    state: 'released' | 'terminated';
    by?: string;
    note?: string;
  };
  /** A guest's `forge.emit_event`: a dot-separated name and a copy of its payload bytes. */
  'guest.event': { containerId: ContainerId; name: string; payload: Uint8Array };
  /** A new version of a kernel's live policy is in force (version as a decimal string). */
  'policy.reloaded': { version: string };
  /** A live policy version was kept without going live (it waits for an activation). */
  'policy.stored': { version: string; digest: string; by?: string };
  /** A call's `ask` decision waits for an operator. */
  'approval.requested': {
    id: string;
    containerId: ContainerId;
    syscall: string;
    expiresAt: number;
  };
  /** An approval was answered (by an operator), or denied by its timeout or a shutdown. */
  'approval.settled': {
    id: string;
    containerId: ContainerId;
    syscall: string;
    verdict: 'allow' | 'deny';
    by: string;
  };
  /**
   * A reload of a kernel's configuration or policy was applied (its version and the paths it
   * changed) or refused (its code and one-line message; what runs stays as it was).
   */
  'config.reload':
    | { applied: true; source: string; version: number; changed: readonly string[] }
    | { applied: false; source: string; code: string; message: string };
  'kernel.shutdown': { reason: string };
}

type Listener<K extends keyof KernelEvents> = (payload: KernelEvents[K]) => void;
type EmitterEvents = { [K in keyof KernelEvents]: Listener<K> };

/** A typed event bus for one kernel. Listeners run synchronously, in order of subscription. */
export class KernelEventBus {
  readonly #emitter = new EventEmitter<EmitterEvents>();

  /** Subscribes; returns a function that unsubscribes. */
  on<K extends keyof KernelEvents>(event: K, listener: Listener<K>): () => void {
    // eventemitter3's generic typing cannot relate K to its listener; the public signature does.
    (this.#emitter.on as (e: K, l: Listener<K>) => void)(event, listener);
    return () => (this.#emitter.off as (e: K, l: Listener<K>) => void)(event, listener);
  }

  emit<K extends keyof KernelEvents>(event: K, payload: KernelEvents[K]): void {
    (this.#emitter.emit as (e: K, p: KernelEvents[K]) => boolean)(event, payload);
  }

  /** True when anyone listens to `event`; lets hot paths skip building payloads. */
  hasListeners(event: keyof KernelEvents): boolean {
    return this.#emitter.listenerCount(event) > 0;
  }

  removeAll(): void {
    this.#emitter.removeAllListeners();
  }
}
