import { z } from 'zod';
import { ProblemSchema, PROBLEM_MEDIA_TYPE } from './problem';
import { openApiPath, type RouteSpec } from './route';

type JsonSchema = Record<string, unknown>;

/** The OpenAPI 3.1 document of `routes`: paths, operations and schemas, all generated from the zod declarations. */
export function buildOpenApiDocument(
  routes: Readonly<Record<string, RouteSpec>>,
  info: { title: string; version: string },
): JsonSchema {
  const components: Record<string, JsonSchema> = {};
  // JSON Schema 2020-12 is OpenAPI 3.1's dialect: zod writes it; schemas with an id become components.
  const convert = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const generated = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io,
      unrepresentable: 'any',
      reused: 'inline',
    });
    // Nested schemas with an id that zod put in `$defs` become components, referenced from there.
    const out = JSON.parse(
      JSON.stringify(generated).replaceAll('"#/$defs/', '"#/components/schemas/'),
    ) as JsonSchema;
    const id = z.globalRegistry.get(schema)?.id;
    delete out['$schema'];
    const defs = out['$defs'] as Record<string, JsonSchema> | undefined;
    delete out['$defs'];
    for (const [name, def] of Object.entries(defs ?? {})) components[name] ??= def;
    const fixed = out;
    if (id === undefined) return fixed;
    components[id] ??= fixed;
    return { $ref: `#/components/schemas/${id}` };
  };
  const problem = convert(ProblemSchema, 'output');
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of Object.values(routes)) {
    const parameters: JsonSchema[] = [];
    for (const [where, schema] of [
      ['path', route.params],
      ['query', route.query],
    ] as const) {
      if (!schema) continue;
      for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
        const json = convert(field, 'input');
        const description = (json['description'] as string | undefined) ?? field.description;
        parameters.push({
          name,
          in: where,
          required: where === 'path' || !field.safeParse(undefined).success,
          schema: json,
          ...(description ? { description } : {}),
        });
      }
    }
    const status = String(route.status ?? 200);
    const success = route.produces
      ? { description: 'OK', content: { [route.produces]: { schema: { type: 'string' } } } }
      : {
          description: 'OK',
          content: { 'application/json': { schema: convert(route.reply ?? z.unknown(), 'output') } },
        };
    const problemAnswer = (description: string) => ({
      description,
      content: { [PROBLEM_MEDIA_TYPE]: { schema: problem } },
    });
    const responses: Record<string, unknown> = { [status]: success };
    if (route.access !== 'public') {
      responses['401'] = problemAnswer('No token, or a bad, expired or revoked one');
      responses['403'] = problemAnswer("The token's role may not use this route");
      responses['429'] = problemAnswer('Rate limited (see Retry-After, RateLimit, RateLimit-Policy)');
    }
    responses['4XX'] = problemAnswer('The request was refused');
    responses['5XX'] = problemAnswer('The kernel could not answer');
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      'x-forgeone-role': route.access,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: !route.body.safeParse(undefined).success,
              content: route.consumes
                ? { [route.consumes]: { schema: { type: 'string', contentMediaType: route.consumes } } }
                : { 'application/json': { schema: convert(route.body, 'input') } },
            },
          }
        : {}),
      responses,
      ...(route.access === 'public' ? { security: [] } : {}),
    };
    (paths[openApiPath(route.path)] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info,
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a forgeoned token' } },
    },
  };
}
