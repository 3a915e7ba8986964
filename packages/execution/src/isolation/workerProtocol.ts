import {
  ForgeError,
  isForgeError,
  type ExecutionDNA,
  type ForgeErrorCode,
  type ForgeErrorDetails,
  type JsonValue,
} from '@forgeone/common';
import type { KvRequest } from './bridgedKvBackend';
import type { WorldSpec } from '../world/guestWorld';
import type { InvokeOptions, RunOutcome } from './invokeExport';
import type { BridgeRequest } from './syncBridge';
import type { TypedValue } from './typedValue';
import type { WasmSignature } from '../module/wasmModuleInfo';

/** Byte offset of the guest's start time in a worker lane's control buffer (see workerLane.ts). */
export const START_TIME_OFFSET = 8;

/** A ForgeError as it crosses threads (structured clone drops the class). */
export interface WireError {
  readonly code: ForgeErrorCode;
  readonly message: string;
  readonly details?: ForgeErrorDetails;
}

export type WireOutcome =
  | { readonly status: 'exited'; readonly exitCode: number }
  | { readonly status: 'returned'; readonly exitCode: 0; readonly value: number | bigint | undefined }
  | { readonly status: 'trapped'; readonly exitCode: null; readonly error: WireError };

/** What the worker needs of a compiled module (WebAssembly.Module is shared, not recompiled). */
export interface WireModule {
  /** This process's number for the compiled module (see `modulesSent`): a worker keeps it by this. */
  readonly id: number;
  readonly module: WebAssembly.Module;
  readonly sha256: string;
  readonly fuel: boolean;
  readonly signatures: Readonly<Record<string, WasmSignature>>;
}

/**
 * How many compiled modules a worker keeps by number. The main thread and the worker evict the
 * same way (the oldest first, when one more arrives), so each knows what the other holds.
 */
export const MAX_WORKER_MODULES = 64;

/** Main thread -> worker. */
export type ToWorker =
  | {
      readonly type: 'instantiate';
      /** The compiled module the worker keeps under this number (see `WorkerLane.modulesSent`). */
      readonly moduleId: number;
      /** Sent only the first time this worker is lent this module: it keeps it by `moduleId`. */
      readonly module?: WireModule;
      readonly world: WorldSpec;
      /** Where the main thread's answers come back (an operator's approval, a kv call); sent only when there can be one. */
      readonly bridge?: SharedArrayBuffer;
      /** Present when the instance has an approver: how long the guest waits for its answer. */
      readonly approverTimeoutMs?: number;
      readonly forwardAudit: boolean;
      /** Send each `forge.emit_event` event as it happens (else they are dropped). */
      readonly forwardEvents: boolean;
      /** The container's kv namespace, served by the main thread through `bridge` (see BridgedKvBackend). */
      readonly kv?: { readonly namespace: string; readonly timeoutMs: number };
      /** The launch's secret values (forge.secret_read), cloned once. */
      readonly secrets?: ReadonlyMap<string, Uint8Array>;
    }
  | {
      readonly type: 'invoke';
      readonly id: number;
      readonly entry: string;
      readonly args: readonly TypedValue[];
      readonly options: InvokeOptions;
    }
  | { readonly type: 'dispose' };

/** Worker -> main thread. */
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'instantiated'; readonly outcome: WireOutcome | undefined }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly outcome: WireOutcome;
      readonly values: readonly TypedValue[];
      readonly fuelLeft?: number;
      readonly dna: ExecutionDNA;
    }
  | { readonly type: 'failed'; readonly id: number | undefined; readonly error: WireError }
  /** A batch of trace events, in the tail's binary form (see traceTailCodec.ts). */
  | { readonly type: 'trace'; readonly batch: ArrayBuffer }
  | { readonly type: 'log'; readonly message: string }
  /** The guest wrote to stdout or stderr: the bytes are in the lane's output ring (urgent: it waits for room). */
  | { readonly type: 'output'; readonly urgent: boolean }
  | { readonly type: 'audit'; readonly entry: JsonValue }
  | { readonly type: 'paused'; readonly reason: string; readonly dna?: ExecutionDNA }
  /** A guest's kv call; the worker waits on the bridge until the main thread applied it and answered `id`. */
  | { readonly type: 'kv'; readonly id: number; readonly request: KvRequest }
  | { readonly type: 'event'; readonly name: string; readonly payload: Uint8Array }
  | BridgeRequest;

export function toWireError(error: unknown): WireError {
  const forge = isForgeError(error)
    ? error
    : new ForgeError('FORGE_INTERNAL', error instanceof Error ? error.message : String(error));
  return { code: forge.code, message: forge.message, details: { ...forge.details } };
}

export function fromWireError(error: WireError): ForgeError {
  return new ForgeError(error.code, error.message, error.details ? { details: error.details } : {});
}

export function toWireOutcome(outcome: RunOutcome): WireOutcome {
  if (outcome.status !== 'trapped') return outcome;
  return { status: 'trapped', exitCode: null, error: toWireError(outcome.error) };
}

export function fromWireOutcome(outcome: WireOutcome): RunOutcome {
  if (outcome.status !== 'trapped') return outcome;
  return { status: 'trapped', exitCode: null, error: fromWireError(outcome.error) };
}
