import { forgeBufferSyscallNames } from '../forge/forgeBufferSyscalls';
import { forgeEventSyscallNames } from '../forge/forgeEventSyscalls';
import { forgeKvSyscallNames } from '../forge/forgeKvSyscalls';
import { forgeSecretSyscallNames } from '../forge/forgeSecretSyscalls';
import { worldSyscallNames } from '../world/guestWorld';
import { forgeCallPluginSyscallName } from '../plugins/callPluginSyscall';

/**
 * Every syscall name this version of ForgeOne defines — what a guest of some kernel could import.
 * Policies and allow-lists are checked against it, so a misspelt name is refused instead of
 * silently matching nothing. A given run may offer fewer (kv and plugins need a host that wires them).
 */
export function allSyscallNames(): string[] {
  return [
    ...new Set([
      ...worldSyscallNames(),
      ...forgeKvSyscallNames,
      ...forgeEventSyscallNames,
      ...forgeSecretSyscallNames,
      ...forgeBufferSyscallNames,
      forgeCallPluginSyscallName,
    ]),
  ].sort();
}
