import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { ForgeError } from '@forgeone/common';
import { defaultContainerLimits } from '@forgeone/config';
import { readPackageFile } from '@forgeone/crypto';
import { checkModuleSize } from './moduleSize';
import type { ModuleFormat } from './moduleSource';

/** What a module file holds, by its extension: a signed ForgePkg, or a raw `.wasm` / `.wat` module. */
export type ModuleFileKind = 'package' | 'module';

/** A module file read: a package (verified when it is loaded) or raw module bytes. */
export type ModuleFile =
  | { readonly kind: 'package'; readonly name: string; readonly bytes: Uint8Array }
  | {
      readonly kind: 'module';
      readonly name: string;
      readonly bytes: Uint8Array;
      /** From the extension; absent when it names neither (the bytes decide). */
      readonly format?: ModuleFormat;
    };

/** `package` for a `.forgepkg`, else `module`. */
export function moduleFileKind(path: string): ModuleFileKind {
  return /\.forgepkg$/i.test(path) ? 'package' : 'module';
}

/**
 * The format a module file's extension names: a `.wasm` that is really text is refused, not
 * parsed. Undefined for any other extension (the bytes decide).
 */
export function moduleFileFormat(path: string): ModuleFormat | undefined {
  if (/\.wasm$/i.test(path)) return 'wasm';
  if (/\.wat$/i.test(path)) return 'wat';
  return undefined;
}

/**
 * Reads a raw module file (`.wasm`, `.wat`), refusing a missing (FORGE_WASM_NOT_FOUND), oversized
 * (FORGE_WASM_LIMIT) or empty (FORGE_WASM_INVALID) one before reading it.
 */
export async function readModuleBytes(
  path: string,
  maxModuleBytes: number = defaultContainerLimits.maxModuleBytes,
): Promise<Uint8Array> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new ForgeError('FORGE_WASM_NOT_FOUND', `${path} is not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof ForgeError) throw error;
    throw new ForgeError(
      'FORGE_WASM_NOT_FOUND',
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  checkModuleSize(size, maxModuleBytes, path);
  if (size === 0) throw new ForgeError('FORGE_WASM_INVALID', `${path} is empty`);
  return new Uint8Array(await readFile(path));
}

/**
 * Reads a module file as its extension says: a `.forgepkg` within the package format's bounds
 * (FORGE_PKG_OVERSIZED), a `.wasm` or `.wat` within `maxModuleBytes` (see readModuleBytes).
 */
export async function readModuleFile(
  path: string,
  options: {
    readonly maxModuleBytes?: number;
    /** Read it as this kind whatever its extension says. */
    readonly kind?: ModuleFileKind;
  } = {},
): Promise<ModuleFile> {
  const name = basename(path);
  if ((options.kind ?? moduleFileKind(path)) === 'package')
    return { kind: 'package', name, bytes: await readPackageFile(path) };
  const bytes = await readModuleBytes(path, options.maxModuleBytes);
  const format = moduleFileFormat(path);
  return { kind: 'module', name, bytes, ...(format ? { format } : {}) };
}
