export { AllowListPdp } from './allowListPdp';
export type { AllowListOptions } from './allowListPdp';
