import { ForgeError } from '@forgeone/common';

/**
 * Refuses a module over the size limit (FORGE_WASM_LIMIT): before it is parsed, and for a file
 * before it is read, so a huge file is never loaded into memory.
 */
export function checkModuleSize(bytes: number, maxModuleBytes: number, name: string): void {
  if (bytes > maxModuleBytes) {
    throw new ForgeError(
      'FORGE_WASM_LIMIT',
      `${name} is ${bytes} bytes, over the module size limit of ${maxModuleBytes}`,
      { details: { limit: 'moduleBytes', max: maxModuleBytes } },
    );
  }
}
