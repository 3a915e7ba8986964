export { createKernel } from './createKernel';
export type { CreateKernelOptions, Kernel } from './createKernel';
export { createApiServer, API_VERSION } from './apiServer';
export type { ApiServerOptions } from './apiServer';
