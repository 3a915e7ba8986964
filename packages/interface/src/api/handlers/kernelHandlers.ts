import { type kernelRoutes } from '../contract/kernelRoutes';
import type { ApiContext, Handlers } from '../apiContext';
import { jsonSafe, redactSecrets } from '../jsonSafe';

/** Health, readiness, boot, self-test, configuration, OpenAPI, events and metrics. */
export function kernelHandlers(ctx: ApiContext): Handlers<typeof kernelRoutes> {
  const { kernel } = ctx;
  return {
    getHealth: async () => ({
      ok: true,
      kernel: kernel.id,
      mode: kernel.config.mode,
      store: kernel.store?.kind ?? null,
      uptimeMs: kernel.clock.now() - ctx.startedAt,
    }),
    getReady: async (_input, call) => {
      const checks: { name: string; ok: boolean; detail?: string }[] = [];
      const boot = kernel.boot;
      checks.push(
        boot
          ? { name: 'boot', ok: boot.selfTest.ok || boot.mode === 'recovery', detail: `mode ${boot.mode}` }
          : { name: 'boot', ok: true, detail: 'composed without boot' },
      );
      if (kernel.store) {
        try {
          await kernel.store.logHead('audit');
          checks.push({ name: 'store', ok: true, detail: kernel.store.kind });
        } catch {
          checks.push({ name: 'store', ok: false, detail: 'the store does not answer' });
        }
      }
      checks.push({
        name: 'launches',
        ok: boot?.mode !== 'maintenance',
        ...(boot?.mode === 'maintenance' ? { detail: 'maintenance: no new launch' } : {}),
      });
      const ok = checks.every((c) => c.ok);
      if (!ok) call.status(503);
      return { ok, checks };
    },
    getBoot: async () => ({
      ok: true,
      boot: kernel.boot ? (jsonSafe(kernel.boot) as Record<string, unknown>) : null,
    }),
    getSelfTest: async (_input, call) => {
      const report = await ctx.selfTest();
      if (!report.ok) call.status(503);
      return jsonSafe(report) as { ok: boolean };
    },
    getConfig: async () => ({
      ok: true,
      config: redactSecrets(jsonSafe(kernel.configContext?.value() ?? kernel.config)) as Record<
        string,
        unknown
      >,
    }),
    getOpenApi: async () => ctx.openApi(),
    getEvents: async (input, call) => {
      const types = input.query.types ? new Set(input.query.types.split(',').filter(Boolean)) : undefined;
      ctx.streams.serve(call.request, call.reply, types);
    },
    getMetrics: async (_input, call) => {
      const text = await ctx.metrics.registry.metrics();
      void call.reply.type(ctx.metrics.registry.contentType).send(text);
    },
  };
}
