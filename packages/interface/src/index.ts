export { createKernel } from './createKernel';
export type { CreateKernelOptions, Kernel } from './createKernel';
