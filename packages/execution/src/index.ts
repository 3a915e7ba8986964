export { GuestMemory, GuestFault } from './guestMemory';
export type { MemoryWriteListener } from './guestMemory';
export { GuestExit } from './syscallDefinition';
export type {
  SyscallDefinition,
  SyscallInvocation,
  SyscallContext,
  WasmValType,
  WasmValue,
} from './syscallDefinition';
export { SyscallGate } from './syscallGate';
export type { SyscallGateOptions } from './syscallGate';
export { ForgeErrno } from './forgeErrno';
export { forgeSyscalls, forgeSyscallNames } from './forgeSyscalls';
export type { ForgeSyscallOptions } from './forgeSyscalls';
export { compileModule, checkImports, detectFormat, watToWasm, defaultModuleLimits } from './moduleSource';
export type { CompiledModule, ModuleFormat, ModuleLimits } from './moduleSource';
export { runInstance } from './instanceRunner';
export type { RunOutcome, RunInstanceOptions } from './instanceRunner';

export { createWasiPreview1 } from './wasi/wasiPreview1';
export type { WasiPreview1 } from './wasi/wasiPreview1';
export { defaultWasiLimits } from './wasi/wasiOptions';
export type { WasiOptions, WasiPreopen, WasiLimits, WasiOutputOptions } from './wasi/wasiOptions';
export { WASI_DENIED_ERRNO } from './wasi/wasiCall';
export { Errno as WasiErrno } from './wasi/wasiConstants';
export { WasiErrnoError } from './wasi/wasiErrno';
export { createMemoryFileSystem } from './wasi/vfs/memoryFileSystem';
export type { MemoryFileSystemOptions } from './wasi/vfs/memoryFileSystem';
export { createHostFileSystem } from './wasi/vfs/hostFileSystem';
export type { HostFileSystemOptions } from './wasi/vfs/hostFileSystem';
export type {
  VirtualFileSystem,
  VfsDirectory,
  VfsFile,
  VfsStat,
  VfsDirEntry,
  VfsOpenFileOptions,
} from './wasi/vfs/virtualFileSystem';
