export { GuestMemory, GuestFault } from './gate/guestMemory';
export type { MemoryWriteSink } from './gate/guestMemory';
export { GuestExit } from './gate/syscallDefinition';
export type {
  SyscallDefinition,
  SyscallInvocation,
  SyscallContext,
  WasmValue,
} from './gate/syscallDefinition';
export type { WasmValType } from './module/wasmModuleInfo';
export { SyscallGate } from './gate/syscallGate';
export type { SyscallGateOptions } from './gate/syscallGate';
export { ForgeErrno } from './forge/forgeErrno';
export { forgeSyscalls, forgeSyscallNames } from './forge/forgeSyscalls';
export { hostFunction } from './forge/hostFunction';
export type { HostFunctionSpec } from './forge/hostFunction';
export type { ForgeSyscallOptions } from './forge/forgeSyscalls';
export type { SyscallRateLimit } from './gate/syscallGate';
export {
  compileModule,
  checkImports,
  detectFormat,
  watToWasm,
  defaultModuleLimits,
  WAT_NESTING_LIMIT,
} from './module/moduleSource';
export type { CompiledModule, CompileModuleOptions, ModuleFormat, ModuleLimits } from './module/moduleSource';
export { readModuleFile, readModuleBytes, moduleFileKind, moduleFileFormat } from './module/moduleFile';
export { checkModuleSize } from './module/moduleSize';
export type { ModuleFile, ModuleFileKind } from './module/moduleFile';
export { ModuleCache } from './module/moduleCache';
export { readWasmModuleInfo } from './module/wasmModuleInfo';
export type {
  WasmModuleInfo,
  WasmImportInfo,
  WasmExportInfo,
  WasmLimits,
  WasmSignature,
  WasmTypeName,
} from './module/wasmModuleInfo';
export { applyWasmLimits } from './module/wasmLimitPatch';
export type { WasmMemoryLimits } from './module/wasmLimitPatch';
export { rewriteModuleCode, routeMemoryGrow, RESERVED_EXPORT_PREFIX } from './module/wasmCodeRewrite';
export type { CodeRewriteOptions, RewrittenModule } from './module/wasmCodeRewrite';
export { instrumentFuel, FUEL_GLOBAL_EXPORT } from './module/fuelMetering';
export { runInstance, invokeExport } from './isolation/invokeExport';
export type { RunOutcome, RunInstanceOptions, InvokeOptions, InvokeResult } from './isolation/invokeExport';
export { ALLOC_EXPORT, parseTypedArgs, typedValuesToJson, typedValuesFromJson } from './isolation/typedValue';
export type { TypedValue, ResultKind } from './isolation/typedValue';
export {
  instanceStates,
  instanceEvents,
  instanceTransitions,
  nextInstanceState,
} from './isolation/instanceLifecycle';
export type { InstanceState, InstanceEvent } from './isolation/instanceLifecycle';
export { EnforcerSpecSchema, createEnforcerFromSpec } from './gate/enforcerSpec';
export type { EnforcerSpec, EnforcerHooks } from './gate/enforcerSpec';
export { createGuestWorld, worldSyscallNames, worldNamespaces } from './world/guestWorld';
export type { GuestWorld, WorldSpec, WorldHooks, PortablePreopen } from './world/guestWorld';
export { replaySyscalls, reexecuteOutput } from './replay/replaySyscalls';
export type { ReplayDivergence, ReplayCursor, ReplaySyscallsOptions } from './replay/replaySyscalls';
export { ForensicContext } from './replay/forensicContext';
export type {
  ReplayUntil,
  ReplayPoint,
  ReplayDiverged,
  ReplayRunToPoint,
  ReplayOutcome,
} from './replay/forensicContext';
export { replayCallLine, DIVERGENCE_CONTEXT_CALLS } from './replay/replayCall';
export type { ReplayCall, ReplayArg } from './replay/replayCall';
export { replayFdTable } from './replay/replayFdTable';
export type { ReplayFd } from './replay/replayFdTable';
export { guestGlobals } from './replay/guestGlobals';
export type { GuestGlobal } from './replay/guestGlobals';
export { readMemoryRegion, MAX_REGION_BYTES } from './replay/memoryRegion';
export {
  SyncBridgeClient,
  answerBridge,
  claimBridge,
  completeBridge,
  createBridgeBuffer,
  SYNC_BRIDGE_BYTES,
  BRIDGE_OVERFLOW,
} from './isolation/syncBridge';
export type { BridgeRequest, BridgeAnswer } from './isolation/syncBridge';
export { WorkerPool } from './isolation/workerPool';
export type { WorkerPoolOptions, PooledWorker } from './isolation/workerPool';
export { WasmHost, defaultHostLimits, recordedTraceOf } from './host/wasmHost';
export type {
  WasmHostOptions,
  HostLimits,
  LoadedModule,
  LoadedPackage,
  HostInstanceOptions,
  HostRunOptions,
  HostRunResult,
  ReplayResult,
} from './host/wasmHost';
export type { WasmInstance, InstanceOptions, InvokeCallOptions, Isolation } from './isolation/wasmInstance';
export { InlineInstance } from './isolation/inlineInstance';
export type { GuestInspection } from './isolation/inlineInstance';
export { DEFAULT_APPROVER_TIMEOUT_MS } from './isolation/workerInstance';

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

export { allSyscallNames } from './host/allSyscallNames';

// kv, events, plugins, wasmer
export { ForgeIoBuffers, defaultForgeIoLimits, forgeCall } from './forge/forgeBuffers';
export type { ForgeIoLimits } from './forge/forgeBuffers';
export { forgeBufferSyscalls, forgeBufferSyscallNames } from './forge/forgeBufferSyscalls';
export {
  MemoryKvBackend,
  defaultKvQuota,
  KV_NAMESPACE_PATTERN,
  checkKvConfig,
  KvRefusal,
} from './forge/forgeKvBackend';
export type { KvBackend, KvGroupOutcome, KvQuota, KvUsage, KvPutStatus } from './forge/forgeKvBackend';
export {
  parseKvDurability,
  checkKvDurability,
  DEFAULT_KV_DURABILITY,
  MAX_KV_RELAXED_MS,
} from './forge/kvDurability';
export type { KvDurability, KvCommitPolicy } from './forge/kvDurability';
export { StorageKvBackend, kvStorageNamespace } from './forge/forgeKvStorageBackend';
export type { KvFlushResult } from './forge/forgeKvStorageBackend';
export { forgeKvSyscalls, forgeKvSyscallNames, KV_MAX_VALUE_BYTES } from './forge/forgeKvSyscalls';
export type { ForgeKvSyscallOptions } from './forge/forgeKvSyscalls';
export { forgeSecretSyscalls, forgeSecretSyscallNames, SECRET_NAME_BYTES } from './forge/forgeSecretSyscalls';
export type { GuestSecrets } from './forge/forgeSecretSyscalls';
export { forgeEventSyscalls, forgeEventSyscallNames, EVENT_NAME_PATTERN } from './forge/forgeEventSyscalls';
export type { ForgeEventSyscallOptions, GuestEvent } from './forge/forgeEventSyscalls';
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
export {
  exposeModuleState,
  reservedGlobalIndex,
  stateGlobalName,
  STATE_GLOBAL_PREFIX,
  STATE_MEMORY_EXPORT,
} from './module/stateExports';
export type { ModuleState, StateGlobal, StateGlobalType } from './module/stateExports';
export { captureGuest, restoreGuest, ON_RESTORE_EXPORT } from './snapshot/guestSnapshot';
export type { CapturedGuest, SnapshotIdentity } from './snapshot/guestSnapshot';
