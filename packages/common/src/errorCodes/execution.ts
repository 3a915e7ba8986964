/** Codes raised by @forgeone/execution: loading, instantiating and running WebAssembly. */
export const executionErrorCodes = {
  FORGE_WASM_NOT_FOUND: 'The module file does not exist or cannot be read.',
  FORGE_WASM_INVALID: 'The bytes are not a valid WebAssembly module.',
  FORGE_WAT_INVALID: 'The WebAssembly text failed to parse.',
  FORGE_WASM_IMPORT_UNKNOWN: 'The module imports something the host does not provide.',
  FORGE_WASM_EXPORT_MISSING: 'The module does not export the function that was asked for.',
  FORGE_WASM_TRAP: 'The guest trapped (unreachable, out-of-bounds access, stack exhaustion...).',
  FORGE_WASM_LIMIT: 'The module exceeds a host limit (size, imports, memory, table).',
  FORGE_WASI_CONFIG_INVALID:
    'The WASI options (args, env, preopens, stdio, limits) are invalid; the message names the field.',
  FORGE_VFS_HOST_DIR_INVALID: 'A host directory to preopen does not exist or is not a directory.',
} as const;
