import { approvalRoutes } from './contract/approvalRoutes';
import { containerRoutes } from './contract/containerRoutes';
import { kernelRoutes } from './contract/kernelRoutes';
import { packageRoutes } from './contract/packageRoutes';
import { policyRoutes } from './contract/policyRoutes';
import { trustRoutes } from './contract/trustRoutes';
import { workloadRoutes } from './contract/workloadRoutes';
import { decisionRoutes } from './contract/decisionRoutes';

/** Every route of the /v1 API, by operation id: the one declaration server, OpenAPI and client share. */
export const apiRoutes = {
  ...kernelRoutes,
  ...packageRoutes,
  ...containerRoutes,
  ...workloadRoutes,
  ...trustRoutes,
  ...decisionRoutes,
  ...policyRoutes,
  ...approvalRoutes,
} as const;
export type ApiRoutes = typeof apiRoutes;
export type ApiOperation = keyof ApiRoutes;
