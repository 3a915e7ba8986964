import { ForgeError } from '@forgeone/common';
import type { DecodedSnapshot, SnapshotContext, SnapshotGlobal } from '@forgeone/observer';
import type { CompiledModule } from '../module/moduleSource';
import { STATE_MEMORY_EXPORT, stateGlobalName, type StateGlobal } from '../module/stateExports';
import type { GuestWorld } from '../world/assembleWorld';

/** Export a module may have to be told it was restored (to reseed random state kept in its memory). */
export const ON_RESTORE_EXPORT = 'forge_on_restore';

/** What a snapshot says of the module and container besides what the instance holds. */
export interface SnapshotIdentity {
  readonly containerId: string;
  /** The module's name and version, for people (the SHA-256 is what restore checks). */
  readonly name?: string;
  readonly version?: string;
  /** The kv namespace the container has, if any. */
  readonly kvNamespace?: string;
  readonly now: number;
}

/** A guest's state, read between calls: the snapshot's context and a view of its memory. */
export interface CapturedGuest {
  readonly context: SnapshotContext;
  /** A view of the live memory: encode it before the guest runs again. */
  readonly memory: Uint8Array;
}

function unsupported(what: string, message: string): ForgeError {
  return new ForgeError('FORGE_SNAPSHOT_UNSUPPORTED', `cannot snapshot ${message}; nothing was saved`, {
    details: { what },
  });
}

const scratch = new DataView(new ArrayBuffer(8));

function bitsOf(global: StateGlobal, value: unknown): string {
  switch (global.type) {
    case 'i32':
      return ((value as number) >>> 0).toString(16).padStart(8, '0');
    case 'i64':
      return BigInt.asUintN(64, value as bigint)
        .toString(16)
        .padStart(16, '0');
    case 'f32':
      scratch.setFloat32(0, value as number);
      return scratch.getUint32(0).toString(16).padStart(8, '0');
    case 'f64':
      scratch.setFloat64(0, value as number);
      return scratch.getBigUint64(0).toString(16).padStart(16, '0');
    default:
      throw unsupported(`global ${global.index}`, `global ${global.index}, a mutable ${global.type} global`);
  }
}

function valueOf(global: SnapshotGlobal): number | bigint {
  switch (global.type) {
    case 'i32':
      return Number.parseInt(global.bits, 16) | 0;
    case 'i64':
      return BigInt.asIntN(64, BigInt(`0x${global.bits}`));
    case 'f32':
      scratch.setUint32(0, Number.parseInt(global.bits, 16));
      return scratch.getFloat32(0);
    case 'f64':
      scratch.setBigUint64(0, BigInt(`0x${global.bits}`));
      return scratch.getFloat64(0);
  }
}

function stateOf(compiled: CompiledModule) {
  const state = compiled.state;
  if (state === undefined)
    throw new ForgeError(
      'FORGE_SNAPSHOT_STATE',
      'the module was compiled without snapshots: compile it with `snapshots: true` (V8 does not expose its globals otherwise)',
    );
  return state;
}

function memoryOf(instance: WebAssembly.Instance): WebAssembly.Memory | undefined {
  const memory = instance.exports[STATE_MEMORY_EXPORT];
  return memory instanceof WebAssembly.Memory ? memory : undefined;
}

function exportedGlobal(instance: WebAssembly.Instance, index: number): WebAssembly.Global {
  const global = instance.exports[stateGlobalName(index)];
  if (!(global instanceof WebAssembly.Global))
    throw new ForgeError('FORGE_SNAPSHOT_STATE', `global ${index} is not exposed by the compiled module`);
  return global;
}

/**
 * Reads a guest between calls: memory, every mutable global, and the host state that belongs to
 * it (WASI descriptors, DNA, trace position, kv namespace). Refuses, with FORGE_SNAPSHOT_UNSUPPORTED
 * naming what, whatever it cannot capture (a table the code changes, a v128 or reference global,
 * an open file, a replaying world): never a partial snapshot.
 */
export function captureGuest(
  instance: WebAssembly.Instance,
  compiled: CompiledModule,
  world: GuestWorld,
  identity: SnapshotIdentity,
): CapturedGuest {
  const state = stateOf(compiled);
  const table = state.tableWrites[0];
  if (table !== undefined)
    throw unsupported(
      `table ${table}`,
      `table ${table}: the module changes it at run time (table.set/grow/init/copy/fill), and a snapshot cannot map its functions back`,
    );
  // (The V8 of this Node refuses a second memory when it compiles; one with multi-memory would not.)
  if (state.memories > 1)
    throw unsupported('memory 1', `memory 1 of ${state.memories}: a snapshot holds a module's memory 0 only`);
  if (world.replay !== undefined) throw unsupported('replay', 'a replaying instance');
  // A restore instantiates the module afresh: its start function would run again, host calls and all.
  if (compiled.info?.hasStart === true)
    throw unsupported(
      'start function',
      'a module with a start function: a restore would run it again in the new instance, with every host call it makes',
    );
  const globals = state.globals.map((g) => ({
    index: g.index,
    type: g.type as SnapshotGlobal['type'],
    bits: bitsOf(g, exportedGlobal(instance, g.index).value),
  }));
  const wasi = world.wasi.captureState();
  const memory = memoryOf(instance);
  const context: SnapshotContext = {
    module: { sha256: compiled.sha256, name: identity.name ?? 'module', version: identity.version ?? null },
    containerId: identity.containerId,
    capturedAt: identity.now,
    globals,
    host: {
      wasi,
      dna: world.dna.snapshot(),
      traceSeq: world.recorder.nextSeq(),
      kv: identity.kvNamespace === undefined ? null : { namespace: identity.kvNamespace },
    },
  };
  return { context, memory: memory === undefined ? new Uint8Array(0) : new Uint8Array(memory.buffer) };
}

function mismatch(message: string, details: Record<string, string>): ForgeError {
  return new ForgeError('FORGE_SNAPSHOT_MISMATCH', `${message}; nothing was restored`, { details });
}

/** Everything restore checks before it writes anything (throws the first problem). */
function checkRestore(
  instance: WebAssembly.Instance,
  compiled: CompiledModule,
  snapshot: DecodedSnapshot,
  identity: SnapshotIdentity,
): WebAssembly.Memory | undefined {
  const state = stateOf(compiled);
  const { module, globals, host } = snapshot.context;
  if (module.sha256 !== compiled.sha256)
    throw mismatch(
      `the snapshot is of module ${module.name}${module.version === null ? '' : ` ${module.version}`} (SHA-256 ${module.sha256.slice(0, 16)}…), not of this one (${compiled.sha256.slice(0, 16)}…)`,
      { expected: module.sha256, actual: compiled.sha256 },
    );
  if (identity.version !== undefined && module.version !== null && module.version !== identity.version)
    throw mismatch(`the snapshot is of version ${module.version}, not ${identity.version}`, {
      expected: module.version,
      actual: identity.version,
    });
  const wanted = state.globals.map((g) => `${g.index}:${g.type}`).join(',');
  if (globals.map((g) => `${g.index}:${g.type}`).join(',') !== wanted)
    throw new ForgeError(
      'FORGE_SNAPSHOT_INVALID',
      "the snapshot's globals are not the module's; nothing was restored",
    );
  if ((host.kv?.namespace ?? null) !== (identity.kvNamespace ?? null))
    throw mismatch(
      `the snapshot had kv namespace ${host.kv?.namespace ?? '(none)'}, this container has ${identity.kvNamespace ?? '(none)'}`,
      { what: 'kv' },
    );
  const memory = memoryOf(instance);
  const current = memory?.buffer.byteLength ?? 0;
  if (snapshot.memoryByteLength < current || (memory === undefined && snapshot.memoryByteLength > 0))
    throw new ForgeError(
      'FORGE_SNAPSHOT_INVALID',
      `the snapshot's memory (${snapshot.memoryByteLength} bytes) cannot be this module's (${current} bytes at start); nothing was restored`,
    );
  return memory;
}

/**
 * Restores a snapshot into a fresh instance of the same module (its SHA-256 checked) and its
 * fresh world: memory, globals, WASI descriptors, DNA, trace position. Everything is checked
 * before anything is written; a memory larger than the instance's limits is FORGE_SNAPSHOT_LIMIT.
 * The caller throws the instance away on any error.
 */
export function restoreGuest(
  instance: WebAssembly.Instance,
  compiled: CompiledModule,
  world: GuestWorld,
  snapshot: DecodedSnapshot,
  identity: SnapshotIdentity,
): void {
  const memory = checkRestore(instance, compiled, snapshot, identity);
  const { globals, host } = snapshot.context;
  if (memory !== undefined) {
    const missing = (snapshot.memoryByteLength - memory.buffer.byteLength) / 65_536;
    if (missing > 0) {
      try {
        memory.grow(missing);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        throw new ForgeError(
          'FORGE_SNAPSHOT_LIMIT',
          `the snapshot holds ${snapshot.memoryByteLength} bytes of memory, more than this instance's limits allow; nothing was restored`,
          { cause: error, details: { limit: 'memoryPages', actual: snapshot.memoryByteLength } },
        );
      }
    }
    snapshot.copyMemoryInto(new Uint8Array(memory.buffer));
  }
  for (const global of globals) exportedGlobal(instance, global.index).value = valueOf(global);
  if (host.wasi !== null) world.wasi.restoreState(host.wasi);
  try {
    world.dna.restore(host.dna);
  } catch (error) {
    throw new ForgeError(
      'FORGE_SNAPSHOT_STATE',
      `the DNA cannot be restored: ${(error as Error).message} (the start function made calls)`,
      { cause: error },
    );
  }
  // The calls before the snapshot are in its run's trace: this one goes on from its position.
  world.recorder.skipTo(host.traceSeq);
}
