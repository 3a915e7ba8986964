export { createKernel } from './createKernel';
export type { CreateKernelOptions, Kernel, KernelBootOptions } from './createKernel';
export { createApiServer, API_VERSION, defaultApiServerLimits } from './apiServer';
export type { ApiServerOptions, ApiServerLimits } from './apiServer';
