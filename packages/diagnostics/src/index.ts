export { runSelfTest } from './selfTest';
export type { SelfTestCheck, SelfTestReport, SelfTestOptions } from './selfTest';
