import { ForgeError } from '@forgeone/common';
import type { ApiContext, Handlers } from '../apiContext';
import type { workloadRoutes } from '../contract/workloadRoutes';
import { installedPackage } from '../installedPackages';
import { packageParts } from './packageHandlers';

/** Submit, list and cancel workloads of the API's queue. */
export function workloadHandlers(ctx: ApiContext): Handlers<typeof workloadRoutes> {
  const queue = ctx.workloads;
  return {
    submitWorkloads: async ({ body }, call) => {
      for (const spec of body.workloads) {
        if (spec.package) {
          // Refused now rather than failed later: no root, or no such package.
          const parts = packageParts(ctx);
          await installedPackage(parts.store, spec.package.name, spec.package.version);
        } else if (!ctx.developmentModules) {
          throw new ForgeError(
            'FORGE_API_DEVELOPMENT_MODULE_REFUSED',
            `workload ${spec.id}: this daemon runs no unsigned development module; install a signed package`,
          );
        }
      }
      return { ids: queue.submit(body.workloads), requestId: call.requestId };
    },
    listWorkloads: async ({ query }) => {
      const rows = queue.list();
      return {
        scheduler: queue.scheduler.context(),
        workloads: query.state === undefined ? rows : rows.filter((w) => w.state === query.state),
      };
    },
    cancelWorkload: async ({ params }) => {
      if (queue.scheduler.cancel(params.id, 'cancelled over the API')) return { ok: true };
      if (queue.scheduler.result(params.id) !== undefined)
        throw new ForgeError('FORGE_API_WORKLOAD_STATE', `workload ${params.id} has already finished`);
      throw new ForgeError('FORGE_API_WORKLOAD_NOT_FOUND', `no workload ${params.id}`);
    },
  };
}
