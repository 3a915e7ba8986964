import { ForgeError } from '@forgeone/common';
import { basename } from 'node:path';
import type { PortablePreopen } from '../world/guestWorld';
import { moduleFileFormat, readModuleBytes } from '../module/moduleFile';
import { watToWasm } from '../module/moduleSource';
import { runWasmerCommand, type WasmerRunResult } from './wasmerBackend';

/** A `.wasm` or `.wat` file to run on the wasmer backend, with the guest's WASI view. */
export interface WasmerFileOptions {
  readonly file: string;
  /** Arguments after the program name. */
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Directories, as the V8 backend takes them (a host preopen becomes a wasmer mount). */
  readonly preopens?: readonly PortablePreopen[];
  /** Wall-clock limit for the whole run, ms. */
  readonly timeoutMs?: number;
  /** Largest module file read. Default: config's `maxModuleBytes`. */
  readonly maxModuleBytes?: number;
}

/**
 * Runs a module file on the wasmer backend: read and size-checked as the V8 backend reads it,
 * text translated to binary, preopens turned into mounts. FORGE_BACKEND_UNAVAILABLE when the
 * build has no wasmer backend.
 */
export async function runWasmerFile(options: WasmerFileOptions): Promise<WasmerRunResult> {
  if (typeof runWasmerCommand !== 'function') {
    throw new ForgeError(
      'FORGE_BACKEND_UNAVAILABLE',
      'the wasmer backend is not part of this build; use --backend v8',
    );
  }
  const source = await readModuleBytes(options.file, options.maxModuleBytes);
  const module =
    moduleFileFormat(options.file) === 'wat' ? await watToWasm(source, basename(options.file)) : source;
  return runWasmerCommand({
    module,
    args: options.args ?? [],
    env: options.env ?? {},
    mounts: (options.preopens ?? []).map((p) => ({
      hostDir: p.kind === 'host' ? p.hostPath : '',
      guestPath: p.guestPath,
      readOnly: p.readOnly ?? false,
    })),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}
