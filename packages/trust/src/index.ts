export { AllowListPdp } from './allowListPdp';
export type { AllowListOptions } from './allowListPdp';
export { SyscallEnforcer } from './syscallEnforcer';
export type { SyscallEnforcerOptions } from './syscallEnforcer';
