import { ForgeError } from '@forgeone/common';
import type { SyscallDefinition } from '../gate/syscallDefinition';
import { DIRECTORY_RIGHTS, FILE_RIGHTS, STDIN_RIGHTS, STDOUT_RIGHTS } from './wasiConstants';
import { WasiErrnoError } from './wasiErrno';
import { fdCalls } from './wasiFdCalls';
import { checkWasiOptions, defaultWasiLimits, type WasiOptions, type WasiPreopen } from './wasiOptions';
import { pathCalls } from './wasiPathCalls';
import { processCalls } from './wasiProcessCalls';
import { WasiState } from './wasiState';
import { captureWasiState, restoreWasiState, type WasiSnapshot } from './wasiSnapshot';
import { createHostFileSystem } from './vfs/hostFileSystem';
import { createMemoryFileSystem } from './vfs/memoryFileSystem';
import type { VfsDirectory, VirtualFileSystem } from './vfs/virtualFileSystem';

/** One guest's WASI preview1 world, as syscall definitions for the gate plus its captured output. */
export interface WasiPreview1 {
  /**
   * Every wasi_snapshot_preview1 function (46), or those asked for, each one SyscallDefinition
   * named `wasi.<name>`.
   */
  readonly definitions: readonly SyscallDefinition[];
  /** What the guest wrote to stdout so far. */
  stdout(): Uint8Array;
  /** What the guest wrote to stderr so far. */
  stderr(): Uint8Array;
  /** Open descriptors, stdio and preopens included. */
  openFdCount(): number;
  /** Closes every descriptor (and the host handles behind them); call when the guest is done. */
  close(): void;
  /** The descriptor table for a snapshot (FORGE_SNAPSHOT_UNSUPPORTED for what cannot be captured). */
  captureState(): WasiSnapshot | null;
  /** Rebuilds the descriptor table from a snapshot's (before the guest runs again). */
  restoreState(snapshot: WasiSnapshot): void;
}

const callGroups = [processCalls, fdCalls, pathCalls] as const;
let groupNames: readonly ReadonlySet<string>[] | undefined;

/** The names each group of calls defines, found once: a guest's world builds only the groups it imports from. */
function callGroupNames(): readonly ReadonlySet<string>[] {
  groupNames ??= callGroups.map((group) => {
    const state = new WasiState({}, defaultWasiLimits);
    return new Set(group(state).map((definition) => definition.name));
  });
  return groupNames;
}

function fileSystemOf(preopen: WasiPreopen, state: WasiState): VirtualFileSystem {
  switch (preopen.kind) {
    case 'host':
      return createHostFileSystem(preopen.hostPath, { readOnly: preopen.readOnly ?? false });
    case 'memory':
      return createMemoryFileSystem({
        ...(preopen.files === undefined ? {} : { files: preopen.files }),
        readOnly: preopen.readOnly ?? false,
        maxBytes: state.limits.maxMemoryFsBytes,
        maxNodes: state.limits.maxMemoryFsNodes,
        now: () => state.realtimeNs(),
      });
    case 'fs':
      return preopen.fileSystem;
  }
}

/**
 * Builds WASI preview1 for one guest over capability-scoped file systems: stdio on 0-2, then each
 * preopen in order from 3. Nothing is reachable but what `options` grants. Refused calls (the
 * gate's `deniedResult`) get ERRNO_NOTCAPABLE (76); bad pointers get EFAULT (21). With `only`,
 * just the functions it names (import names such as `fd_write`) are defined: a guest that imports
 * three of them gets three.
 */
export function createWasiPreview1(options: WasiOptions = {}, only?: ReadonlySet<string>): WasiPreview1 {
  const limits = checkWasiOptions(options);
  const state = new WasiState(options, limits);
  const { fds } = state;
  fds.insert({ kind: 'stdio', stream: 0, flags: 0, rightsBase: STDIN_RIGHTS, rightsInheriting: 0n });
  fds.insert({ kind: 'stdio', stream: 1, flags: 0, rightsBase: STDOUT_RIGHTS, rightsInheriting: 0n });
  fds.insert({ kind: 'stdio', stream: 2, flags: 0, rightsBase: STDOUT_RIGHTS, rightsInheriting: 0n });
  try {
    for (const [index, preopen] of (options.preopens ?? []).entries()) {
      let dir: VfsDirectory;
      try {
        dir = fileSystemOf(preopen, state).root();
      } catch (error) {
        if (!(error instanceof WasiErrnoError)) throw error;
        throw new ForgeError(
          'FORGE_WASI_CONFIG_INVALID',
          `invalid WASI options at preopens.${index}: ${error.message}`,
          {
            cause: error,
            details: { field: `preopens.${index}` },
          },
        );
      }
      fds.insert({
        kind: 'dir',
        dir,
        guestPath: preopen.guestPath,
        depth: 0,
        preopenName: preopen.guestPath,
        listing: undefined,
        flags: 0,
        rightsBase: DIRECTORY_RIGHTS,
        rightsInheriting: DIRECTORY_RIGHTS | FILE_RIGHTS,
      });
    }
  } catch (error) {
    state.closeAll();
    throw error;
  }
  const definitions: SyscallDefinition[] = [];
  const groupNames = callGroupNames();
  callGroups.forEach((group, index) => {
    if (only === undefined || [...only].some((name) => groupNames[index]!.has(name))) {
      definitions.push(...group(state, only));
    }
  });
  return {
    definitions,
    stdout: () => state.stdout.bytes(),
    stderr: () => state.stderr.bytes(),
    openFdCount: () => fds.size,
    close: () => state.closeAll(),
    captureState: () => captureWasiState(state, options.preopens ?? []),
    restoreState: (snapshot) => restoreWasiState(state, snapshot),
  };
}
