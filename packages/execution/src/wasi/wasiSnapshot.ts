import { ForgeError } from '@forgeone/common';
import type { SnapshotHostState } from '@forgeone/observer';
import type { WasiPreopen } from './wasiOptions';
import { closeEntry, type DirFd, type FdEntry, type WasiState } from './wasiState';

/** The WASI part of a snapshot's host state. */
export type WasiSnapshot = NonNullable<SnapshotHostState['wasi']>;

function unsupported(what: string, message: string): ForgeError {
  return new ForgeError('FORGE_SNAPSHOT_UNSUPPORTED', `cannot snapshot ${message}; nothing was saved`, {
    details: { what },
  });
}

/**
 * The descriptor table as a snapshot keeps it: stdio and preopened directories, wherever the guest
 * renumbered them. Refuses (FORGE_SNAPSHOT_UNSUPPORTED) an open file or a directory opened below a
 * preopen (a host handle mid-use), and a writable in-memory or custom file system, whose contents
 * a snapshot does not hold (a host directory is the world outside, like a VM's disk).
 */
export function captureWasiState(state: WasiState, preopens: readonly WasiPreopen[]): WasiSnapshot {
  for (const preopen of preopens) {
    // A custom file system may be anything (its caller shares it between runs): refused too.
    if (preopen.kind === 'fs' || (preopen.kind === 'memory' && preopen.readOnly !== true))
      throw unsupported(
        `preopen ${preopen.guestPath}`,
        `the ${preopen.kind === 'memory' ? 'writable in-memory' : 'custom'} file system at ${preopen.guestPath} (its contents are not captured; make it read-only or a host directory)`,
      );
  }
  const fds: WasiSnapshot['fds'] = [];
  for (const [fd, entry] of state.fds.entries()) {
    const common = {
      fd,
      rightsBase: entry.rightsBase.toString(),
      rightsInheriting: entry.rightsInheriting.toString(),
      flags: entry.flags,
    };
    if (entry.kind === 'stdio') fds.push({ kind: 'stdio', stream: entry.stream, ...common });
    else if (entry.kind === 'dir' && entry.preopenName !== undefined && entry.depth === 0)
      fds.push({ kind: 'preopen', name: entry.preopenName, ...common });
    else
      throw unsupported(
        `fd ${fd}`,
        `descriptor ${fd}, an open ${entry.kind === 'file' ? 'file' : 'directory'} (${entry.guestPath}); close it before the snapshot`,
      );
  }
  return { fds, stdinOffset: state.stdinOffset };
}

/**
 * Rebuilds a fresh world's descriptor table from a snapshot: stdio as it was, each preopen taken
 * from this world's own preopens by name (a preopen the snapshot needs and this world lacks is
 * FORGE_SNAPSHOT_MISMATCH), preopens the guest had closed closed again. Checks everything before
 * it changes anything.
 */
export function restoreWasiState(state: WasiState, snapshot: WasiSnapshot): void {
  const preopens = new Map<string, DirFd>();
  for (const [, entry] of state.fds.entries())
    if (entry.kind === 'dir' && entry.preopenName !== undefined) preopens.set(entry.preopenName, entry);
  const rebuilt = new Map<number, FdEntry>();
  for (const saved of snapshot.fds) {
    const rights = {
      rightsBase: BigInt(saved.rightsBase),
      rightsInheriting: BigInt(saved.rightsInheriting),
      flags: saved.flags,
    };
    if (rebuilt.has(saved.fd))
      throw new ForgeError('FORGE_SNAPSHOT_INVALID', `the snapshot lists descriptor ${saved.fd} twice`);
    if (saved.kind === 'stdio') {
      rebuilt.set(saved.fd, { kind: 'stdio', stream: saved.stream, ...rights });
      continue;
    }
    const dir = preopens.get(saved.name);
    if (dir === undefined)
      throw new ForgeError(
        'FORGE_SNAPSHOT_MISMATCH',
        `the snapshot has the preopened directory ${saved.name}, which this container is not given; give the same preopens`,
        { details: { preopen: saved.name } },
      );
    if ([...rebuilt.values()].some((e) => e.kind === 'dir' && e.preopenName === saved.name))
      throw new ForgeError('FORGE_SNAPSHOT_INVALID', `the snapshot lists preopen ${saved.name} twice`);
    rebuilt.set(saved.fd, { ...dir, listing: undefined, ...rights });
  }
  if (rebuilt.size > state.fds.max)
    throw new ForgeError(
      'FORGE_SNAPSHOT_LIMIT',
      `the snapshot holds ${rebuilt.size} descriptors, over this container's limit of ${state.fds.max}`,
      { details: { limit: 'maxOpenFds', max: state.fds.max } },
    );
  if (snapshot.stdinOffset > state.stdin.byteLength)
    throw new ForgeError(
      'FORGE_SNAPSHOT_MISMATCH',
      `the snapshot had read ${snapshot.stdinOffset} bytes of stdin; this container's stdin has ${state.stdin.byteLength}`,
      { details: { what: 'stdin' } },
    );
  const kept = new Set([...rebuilt.values()].map((e) => (e.kind === 'dir' ? e.dir : undefined)));
  for (const [, entry] of state.fds.entries())
    if (entry.kind === 'dir' && !kept.has(entry.dir)) closeEntry(entry);
  state.fds.clear();
  for (const [fd, entry] of rebuilt) state.fds.set(fd, entry);
  state.stdinOffset = snapshot.stdinOffset;
}
