import { z } from 'zod';
import { defineRoute } from '../route';
import { LAUNCH_BODY_LIMIT } from './containerRoutes';
import { PackageBytesSchema, PackageDetailSchema, PackageInfoSchema, PackageParams } from './packageSchemas';
import { OkSchema, queryInt } from './shared';

const upload = defineRoute({
  method: 'POST',
  path: '/v1/packages',
  operationId: 'uploadPackage',
  summary: "Installs a signed ForgePkg, verified against the kernel's trust root before it is stored",
  tag: 'packages',
  access: 'operator',
  body: PackageBytesSchema,
  consumes: 'application/octet-stream',
  status: 201,
  bodyLimit: LAUNCH_BODY_LIMIT,
  reply: PackageInfoSchema.extend({ requestId: z.string() }),
});

const list = defineRoute({
  method: 'GET',
  path: '/v1/packages',
  operationId: 'listPackages',
  summary: 'Installed packages, in `name@version` order',
  tag: 'packages',
  access: 'viewer',
  query: z.strictObject({ limit: queryInt(1, 1000).optional() }),
  reply: z.object({ packages: z.array(PackageInfoSchema) }),
});

const inspect = defineRoute({
  method: 'GET',
  path: '/v1/packages/:name/:version',
  operationId: 'getPackage',
  summary: 'An installed package: its manifest, capabilities, digests and signers',
  tag: 'packages',
  access: 'viewer',
  params: PackageParams,
  reply: PackageDetailSchema,
});

const remove = defineRoute({
  method: 'DELETE',
  path: '/v1/packages/:name/:version',
  operationId: 'removePackage',
  summary: 'Removes an installed package (its version stays the floor for rollback protection)',
  tag: 'packages',
  access: 'operator',
  params: PackageParams,
  reply: OkSchema,
});

export const packageRoutes = {
  uploadPackage: upload,
  listPackages: list,
  getPackage: inspect,
  removePackage: remove,
} as const;
