import {
  ForgeError,
  type Clock,
  type ContainerId,
  type IdentityContext,
  type SyscallEnforcerPort,
} from '@forgeone/common';
import type { DnaTracker, TraceRecorder } from '@forgeone/observer';
import { GuestMemory } from '../gate/guestMemory';
import type { SyscallDefinition } from '../gate/syscallDefinition';
import { SyscallGate, type SyscallGateOptions } from '../gate/syscallGate';
import type { ReplayCursor } from '../replay/replaySyscalls';
import type { WasiPreview1 } from '../wasi/wasiPreview1';

/** One guest's gate, memory, trace, DNA and WASI state, wired together. */
export interface GuestWorld {
  readonly memory: GuestMemory;
  readonly gate: SyscallGate;
  readonly recorder: TraceRecorder;
  readonly dna: DnaTracker;
  readonly wasi: WasiPreview1;
  readonly imports: WebAssembly.Imports;
  readonly logs: string[];
  /** Present when the world replays a trace. */
  readonly replay: ReplayCursor | undefined;
  close(): void;
}

/** What a world is made of, however its definitions and enforcer were chosen. */
export interface WorldParts {
  readonly containerId: ContainerId;
  readonly identity: IdentityContext;
  readonly enforcer: SyscallEnforcerPort;
  /** Every function the guest may import; each goes through the one gate. */
  readonly definitions: readonly SyscallDefinition[];
  readonly clock: Clock;
  readonly recorder: TraceRecorder;
  readonly dna: DnaTracker;
  /** The WASI state behind the definitions, closed with the world. Default: none. */
  readonly wasi?: WasiPreview1;
  readonly logs?: string[];
  readonly replay?: ReplayCursor;
  /** The gate's tuning and hooks. */
  readonly gate?: Omit<SyscallGateOptions, 'enforcer' | 'context' | 'recorder' | 'dna' | 'clock'>;
}

const noOutput = new Uint8Array(0);
/** The WASI world of a guest that imports no WASI function: nothing to build. */
const noWasi: WasiPreview1 = {
  definitions: [],
  stdout: () => noOutput,
  stderr: () => noOutput,
  openFdCount: () => 0,
  close: () => undefined,
  captureState: () => null,
  restoreState: () => {
    throw new ForgeError(
      'FORGE_SNAPSHOT_MISMATCH',
      'the snapshot has WASI descriptors, and this module imports no WASI function',
    );
  },
};

/**
 * The one place a guest's world is wired: its memory, its SyscallGate (with the context the
 * enforcer sees) and the imports built through that gate. Kernel guests (createGuestWorld, inline
 * and in workers) and plugins (PluginHost) both come through here.
 */
export function assembleWorld(parts: WorldParts): GuestWorld {
  const memory = new GuestMemory();
  const gate = new SyscallGate({
    enforcer: parts.enforcer,
    context: { containerId: parts.containerId, identity: parts.identity, memory },
    recorder: parts.recorder,
    dna: parts.dna,
    clock: parts.clock,
    ...parts.gate,
  });
  const wasi = parts.wasi ?? noWasi;
  return {
    memory,
    gate,
    recorder: parts.recorder,
    dna: parts.dna,
    wasi,
    imports: gate.imports(parts.definitions),
    logs: parts.logs ?? [],
    replay: parts.replay,
    close: () => wasi.close(),
  };
}
