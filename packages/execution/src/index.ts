export { GuestMemory, GuestFault } from './guestMemory';
export type { MemoryWriteSink } from './guestMemory';
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
export type { SyscallRateLimit } from './syscallGate';
export {
  compileModule,
  checkImports,
  detectFormat,
  watToWasm,
  defaultModuleLimits,
  WAT_NESTING_LIMIT,
} from './moduleSource';
export type { CompiledModule, CompileModuleOptions, ModuleFormat, ModuleLimits } from './moduleSource';
export { readModuleFile, readModuleBytes, moduleFileKind, moduleFileFormat } from './moduleFile';
export { checkModuleSize } from './moduleSize';
export type { ModuleFile, ModuleFileKind } from './moduleFile';
export { ModuleCache } from './moduleCache';
export { readWasmModuleInfo } from './wasmModuleInfo';
export type {
  WasmModuleInfo,
  WasmImportInfo,
  WasmExportInfo,
  WasmLimits,
  WasmSignature,
  WasmTypeName,
} from './wasmModuleInfo';
export { applyWasmLimits } from './wasmLimitPatch';
export type { WasmMemoryLimits } from './wasmLimitPatch';
export { instrumentFuel, FUEL_GLOBAL_EXPORT } from './fuelMetering';
export { runInstance, invokeExport } from './instanceRunner';
export type { RunOutcome, RunInstanceOptions, InvokeOptions, InvokeResult } from './instanceRunner';
export { ALLOC_EXPORT, parseTypedArgs, typedValuesToJson, typedValuesFromJson } from './typedValue';
export type { TypedValue, ResultKind } from './typedValue';
export { instanceStates, instanceEvents, instanceTransitions, nextInstanceState } from './instanceState';
export type { InstanceState, InstanceEvent } from './instanceState';
export { EnforcerSpecSchema, parseEnforcerSpec, createEnforcerFromSpec } from './enforcerSpec';
export type { EnforcerSpec, EnforcerHooks } from './enforcerSpec';
export { createGuestWorld, worldSyscallNames, worldNamespaces } from './guestWorld';
export type { GuestWorld, WorldSpec, WorldHooks, PortablePreopen } from './guestWorld';
export { replaySyscalls, reexecuteOutput } from './replaySyscalls';
export type { ReplayDivergence, ReplayCursor, ReplaySyscallsOptions } from './replaySyscalls';
export {
  SyncBridgeClient,
  answerBridge,
  claimBridge,
  completeBridge,
  createBridgeBuffer,
  SYNC_BRIDGE_BYTES,
  BRIDGE_OVERFLOW,
} from './syncBridge';
export type { BridgeRequest, BridgeAnswer } from './syncBridge';
export { WorkerPool } from './workerPool';
export type { WorkerPoolOptions, PooledWorker } from './workerPool';
export { WasmHost, defaultHostLimits, recordedTraceOf } from './wasmHost';
export type {
  WasmHostOptions,
  HostLimits,
  LoadedModule,
  LoadedPackage,
  HostInstanceOptions,
  HostRunOptions,
  HostRunResult,
  ReplayResult,
} from './wasmHost';
export type { WasmInstance, InstanceOptions, InvokeCallOptions, Isolation } from './wasmInstance';
export { InlineInstance } from './inlineInstance';
export { DEFAULT_APPROVER_TIMEOUT_MS } from './workerInstance';

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

export { allSyscallNames } from './allSyscallNames';

// kv, events, plugins, wasmer
export { ForgeIoBuffers, defaultForgeIoLimits, forgeCall } from './forgeBuffers';
export type { ForgeIoLimits } from './forgeBuffers';
export { forgeBufferSyscalls, forgeBufferSyscallNames } from './forgeBufferSyscalls';
export {
  MemoryKvBackend,
  defaultKvQuota,
  KV_NAMESPACE_PATTERN,
  checkKvConfig,
  KvRefusal,
} from './forgeKvBackend';
export type { KvBackend, KvGroupOutcome, KvQuota, KvUsage, KvPutStatus } from './forgeKvBackend';
export {
  parseKvDurability,
  checkKvDurability,
  DEFAULT_KV_DURABILITY,
  MAX_KV_RELAXED_MS,
} from './kvDurability';
export type { KvDurability, KvCommitPolicy } from './kvDurability';
export { StorageKvBackend, kvStorageNamespace } from './forgeKvStorageBackend';
export type { KvFlushResult } from './forgeKvStorageBackend';
export { forgeKvSyscalls, forgeKvSyscallNames, KV_MAX_VALUE_BYTES } from './forgeKvSyscalls';
export type { ForgeKvSyscallOptions } from './forgeKvSyscalls';
export { forgeEventSyscalls, forgeEventSyscallNames, EVENT_NAME_PATTERN } from './forgeEventSyscalls';
export type { ForgeEventSyscallOptions, GuestEvent } from './forgeEventSyscalls';
export {
  parseCapability,
  formatCapability,
  capabilityCovers,
  isCanonicalGuestPath,
  PLUGIN_NAME_PATTERN,
  EXPORT_NAME_PATTERN,
} from './plugins/capability';
export type {
  Capability,
  FsCapability,
  KvCapability,
  PluginCallCapability,
  EventCapability,
  ForgeCallCapability,
} from './plugins/capability';
export { packageGrant, grantBounds, narrowedSpec } from './plugins/packageGrant';
export type { PackageGrant } from './plugins/packageGrant';
export { CapabilitySet } from './plugins/capabilitySet';
export { CapabilityEnforcer, requiredCapabilities } from './plugins/capabilityEnforcer';
export type { CapabilityEnforcerOptions, CapabilityNeed } from './plugins/capabilityEnforcer';
export { PluginManifestSchema, parsePluginManifest, PLUGIN_MANIFEST_ENTRY } from './plugins/pluginManifest';
export type { PluginManifest, PluginManifestInput } from './plugins/pluginManifest';
export { readPluginPackage } from './plugins/pluginPackage';
export type { PluginSource, ReadPluginPackageOptions } from './plugins/pluginPackage';
export { forgeCallPluginSyscall, forgeCallPluginSyscallName } from './plugins/callPluginSyscall';
export type { CallPluginSyscallOptions, PluginCallAnswer } from './plugins/callPluginSyscall';
export { PluginHost, defaultPluginLimits } from './plugins/pluginHost';
export type { PluginHostOptions, PluginInfo, PluginInvokeResult, PluginLimits } from './plugins/pluginHost';
export { WasmerBackend, runWasmerCommand } from './wasmer/wasmerBackend';
export { runWasmerFile } from './wasmer/wasmerFile';
export type { WasmerFileOptions } from './wasmer/wasmerFile';
export type { WasmerCommandOptions, WasmerRunResult } from './wasmer/wasmerBackend';
export { defaultWasmerMountLimits } from './wasmer/wasmerMounts';
export type { WasmerMount, WasmerMountLimits, WasmerWriteBack } from './wasmer/wasmerMounts';
