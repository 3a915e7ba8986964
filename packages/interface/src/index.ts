export { createKernel } from './createKernel';
export type { CreateKernelOptions, Kernel, KernelBootOptions } from './createKernel';
export { createApiServer, API_VERSION, defaultApiServerLimits } from './apiServer';
export type { ApiServerOptions, ApiServerLimits, ApiTlsOptions } from './apiServer';

// The /v1 API: route declarations, roles, problems, tokens, limits, OpenAPI.
export { apiRoutes } from './api/apiRoutes';
export type { ApiRoutes, ApiOperation } from './api/apiRoutes';
export { defineRoute, openApiPath } from './api/route';
export type { RouteSpec, RouteInput, RouteReply, RouteRequest, RouteResult, HttpMethod } from './api/route';
export { apiRoles, ApiRoleSchema, roleAllows } from './api/roles';
export type { ApiRole, RouteAccess } from './api/roles';
export { ProblemSchema, PROBLEM_MEDIA_TYPE, problemOf, statusOfCode } from './api/problem';
export type { Problem } from './api/problem';
export { TokenStore, TOKEN_NAMESPACE } from './api/tokenStore';
export type { TokenInfo, CreateTokenOptions } from './api/tokenStore';
export { defaultApiRateLimits } from './api/rateLimits';
export type { ApiRateLimits } from './api/rateLimits';
export { defaultEventStreamLimits } from './api/sse';
export type { EventStreamLimits } from './api/sse';
export { STREAMED_EVENTS } from './api/eventRing';
export { buildOpenApiDocument } from './api/openApi';
export { TypedValueSchema, LaunchBodySchema, InvokeBodySchema } from './api/contract/containerSchemas';
export type { TypedValueJson } from './api/contract/containerSchemas';
export { PackageInfoSchema, PackageDetailSchema } from './api/contract/packageSchemas';
export { WorkloadSpecSchema, WorkloadInfoSchema } from './api/contract/workloadRoutes';
export type { WorkloadSpec } from './api/contract/workloadRoutes';
export { PACKAGES_NAMESPACE } from './api/installedPackages';
export type { ApiWorkloadOptions } from './api/workloadQueue';
export type { PolicyDirectorySource } from './api/apiContext';
export { PolicyVersionSchema, PolicyUploadSchema } from './api/contract/policyRoutes';
export { ApprovalSchema, ApprovalOutcomeSchema } from './api/contract/approvalRoutes';

// The typed client.
export { createApiClient, ApiClientError } from './client/createApiClient';
export type { ApiClient, ApiClientOptions, ServerSentEvent } from './client/createApiClient';
export { createClient, parseDaemonUrl } from './client/createClient';
export type { ClientOptions } from './client/createClient';
