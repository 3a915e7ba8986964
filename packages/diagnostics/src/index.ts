export { runSelfTest, SELFTEST_NAMESPACE } from './selfTest';
export type { SelfTestCheck, SelfTestReport, SelfTestOptions } from './selfTest';
