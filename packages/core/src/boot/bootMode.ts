import { z } from 'zod';
import { ForgeError } from '@forgeone/common';
import { moduleFileKind, type ModuleFileKind } from '@forgeone/execution';

/** The modes a kernel boots in. */
export const bootModes = ['normal', 'recovery', 'debug', 'maintenance'] as const;
export const BootModeSchema = z.enum(bootModes);
/**
 * - `normal`: everything runs.
 * - `recovery`: nothing is launched from a package (FORGE_KERNEL_RECOVERY); development modules,
 *   the self-test, audit verification and repair still run. A failed self-test does not stop it.
 * - `debug`: every run is traced with its arguments and host writes, and kept for replay.
 * - `maintenance`: running containers drain; every new launch is refused (FORGE_KERNEL_MAINTENANCE).
 */
export type BootMode = z.infer<typeof BootModeSchema>;

/** What a launch starts from: a signed package or a development module (`.wasm`/`.wat` bytes). */
export interface LaunchRequest {
  readonly kind: ModuleFileKind;
}

/** Calls a debug run keeps for replay (the same as `forgeone run --trace`); beyond, the trace says which were dropped. */
export const DEBUG_TRACE_CAPACITY = 1 << 20;

/**
 * Why `mode` refuses this launch, or undefined when it may start. The one check every launcher
 * (runModule, containers) makes before reading or starting anything.
 */
export function launchRefusal(mode: BootMode, launch: LaunchRequest): ForgeError | undefined {
  if (mode === 'maintenance') {
    return new ForgeError(
      'FORGE_KERNEL_MAINTENANCE',
      `the kernel is in maintenance mode: running containers drain and no new ${launch.kind} is launched; boot in normal mode to launch again`,
      { details: { mode, kind: launch.kind } },
    );
  }
  if (mode === 'recovery' && launch.kind === 'package') {
    return new ForgeError(
      'FORGE_KERNEL_RECOVERY',
      'the kernel is in recovery mode: no container is launched from a package (self-test, audit verify and repair only); boot in normal mode to run packages',
      { details: { mode, kind: launch.kind } },
    );
  }
  return undefined;
}

/** Whether every run is traced in full and kept for replay. */
export function traceAll(mode: BootMode): boolean {
  return mode === 'debug';
}

/** A run's trace capacity under `mode`: in debug mode at least DEBUG_TRACE_CAPACITY, else what it asked for. */
export function traceCapacityFor(mode: BootMode, asked: number | undefined): number | undefined {
  return traceAll(mode) ? Math.max(asked ?? 0, DEBUG_TRACE_CAPACITY) : asked;
}

/** Whether running containers are to drain (finish, take nothing new) rather than keep serving. */
export function drainsRunning(mode: BootMode): boolean {
  return mode === 'maintenance';
}

/** The kind of a runModule-style launch: a `package` (bytes or a `.forgepkg` file) or a module. */
export function launchKindOf(options: {
  readonly package?: Uint8Array | undefined;
  readonly file?: string | undefined;
}): ModuleFileKind {
  if (options.package !== undefined) return 'package';
  return options.file !== undefined ? moduleFileKind(options.file) : 'module';
}
