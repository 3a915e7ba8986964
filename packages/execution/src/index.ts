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
export { SyscallGate, enforcementModes } from './syscallGate';
export type { SyscallGateOptions, EnforcementMode } from './syscallGate';
export { ForgeErrno } from './forgeErrno';
export { forgeSyscalls, forgeSyscallNames } from './forgeSyscalls';
export type { ForgeSyscallOptions } from './forgeSyscalls';
export { compileModule, checkImports, detectFormat, watToWasm, defaultModuleLimits } from './moduleSource';
export type { CompiledModule, ModuleFormat, ModuleLimits } from './moduleSource';
export { runInstance } from './instanceRunner';
export type { RunOutcome, RunInstanceOptions } from './instanceRunner';
