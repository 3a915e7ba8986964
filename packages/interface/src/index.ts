export { createKernel } from './createKernel';
export type { CreateKernelOptions, Kernel } from './createKernel';
export { createApiServer, API_VERSION, defaultApiServerLimits } from './apiServer';
export type { ApiServerOptions, ApiServerLimits } from './apiServer';
