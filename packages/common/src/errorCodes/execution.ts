/** Codes raised by @forgeone/execution: loading, instantiating and running WebAssembly. */
export const executionErrorCodes = {
  FORGE_WASM_NOT_FOUND: 'The module file does not exist or cannot be read.',
  FORGE_WASM_INVALID: 'The bytes are not a valid WebAssembly module.',
  FORGE_WAT_INVALID: 'The WebAssembly text failed to parse.',
  FORGE_WAT_TOO_DEEP:
    'The WebAssembly text nests deeper than the text parser takes (100 levels); flatten it or give a binary module.',
  FORGE_WASM_IMPORT_UNKNOWN: 'The module imports something the host does not provide.',
  FORGE_WASM_EXPORT_MISSING: 'The module does not export the function that was asked for.',
  FORGE_WASM_TRAP: 'The guest trapped (unreachable, out-of-bounds access, stack exhaustion...).',
  FORGE_WASM_LIMIT: 'The module exceeds a host limit (size, imports, memory, table).',
  FORGE_WASI_CONFIG_INVALID:
    'The WASI options (args, env, preopens, stdio, limits) are invalid; the message names the field.',
  FORGE_VFS_HOST_DIR_INVALID: 'A host directory to preopen does not exist or is not a directory.',
  FORGE_LIMIT_TIMEOUT:
    'A guest call ran past its wall-clock deadline and was stopped (worker isolation terminates it).',
  FORGE_LIMIT_MEMORY:
    'The module asks for more linear memory than the host allows, or the worker ran out of its memory budget.',
  FORGE_LIMIT_TABLE: 'The module declares a table larger than the host allows.',
  FORGE_LIMIT_STACK:
    'The guest exhausted its call stack (runaway recursion); it was stopped, the host is unharmed.',
  FORGE_LIMIT_SYSCALL_RATE: 'The guest made syscalls faster than its rate limit allows and was stopped.',
  FORGE_EXIT_DENIED:
    'The guest asked to exit (proc_exit) and the policy denied the call: it was stopped as a policy violation, never reported as success.',
  FORGE_LIMIT_FUEL: 'The guest used up its fuel (deterministic instruction budget) and was stopped.',
  FORGE_WASM_UNVERIFIED:
    'Raw module bytes were given without development mode: only verified ForgePkg packages run.',
  FORGE_INSTANCE_STATE:
    'The instance is not in a state that allows the operation (trapped, terminated, busy).',
  FORGE_INVOKE_ARGS: 'The values passed to an export do not match its signature or the bytes/string ABI.',
  FORGE_WORKER_FAILED: 'The isolation worker failed or could not be started.',
  FORGE_REPLAY_DIVERGED:
    'A replay departed from its recorded trace (another call, other arguments, trace exhausted or left over).',
  FORGE_REPLAY_RANGE:
    'A replay was asked to stop where its trace has no call (a sequence past the end, or a syscall that does not occur there).',
  FORGE_REPLAY_MEMORY:
    'A guest memory region asked of a replay lies outside the memory, or is longer than the 1 MiB a dump may be.',
  FORGE_BACKEND_UNAVAILABLE: 'The requested execution backend is not available in this build.',
  FORGE_KV_CONFIG_INVALID:
    'A kv namespace name or quota is invalid; namespaces are 1-64 of a-z 0-9 . - starting with a letter or digit.',
  FORGE_KV_STORE_CORRUPT:
    'A stored kv record is not a kv value (base64 bytes); the namespace was altered outside ForgeOne.',
  FORGE_PLUGIN_MANIFEST_INVALID: 'A plugin manifest fails its schema or disagrees with its package manifest.',
  FORGE_PLUGIN_CAPABILITY_INVALID:
    'A capability string does not parse; the form is kind:action:resource, e.g. fs:read:/data or plugin:call:name/export.',
  FORGE_PLUGIN_NOT_FOUND: 'No plugin of that name is loaded, or it has no such entry point.',
  FORGE_PLUGIN_EXISTS: 'A plugin of that name is already loaded; unload it first.',
  FORGE_PLUGIN_BUSY: 'The plugin is running (a host callback re-entered it); wait until its call returns.',
  FORGE_WASMER_CONFIG_INVALID:
    'The wasmer run options (args, env, mounts, timeout) are invalid; the message names the field.',
  FORGE_WASMER_MOUNT: 'A wasmer mount could not be copied in or written back (size limit, unreadable file).',
  FORGE_WASMER_FAILED: 'The wasmer runtime failed to start or run the command; the message has its reason.',
} as const;
