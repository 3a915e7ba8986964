import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { KernelEventBus } from '@forgeone/common';
import { containerStates, type Runtime } from '@forgeone/core';
import { redzoneStates } from '@forgeone/trust';

/**
 * The Prometheus metrics of one API server (its own registry: two servers in one process do not
 * mix). Containers and quarantines are counted from the registry and redzone at each scrape.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly requestSeconds: Histogram<'route'>;
  readonly #off: (() => void)[] = [];

  constructor(options: { runtime: Runtime; events: KernelEventBus; decisions: boolean }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'forgeone_' });
    this.requests = new Counter({
      name: 'forgeone_api_requests_total',
      help: 'API requests answered, by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'forgeone_api_request_duration_seconds',
      help: 'Time to answer an API request',
      labelNames: ['route'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    const { runtime } = options;
    new Gauge({
      name: 'forgeone_containers',
      help: 'Containers in the registry, by state',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = new Map<string, number>(containerStates.map((s) => [s, 0]));
        for (const info of await runtime.list()) counts.set(info.state, (counts.get(info.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'forgeone_quarantines',
      help: 'Quarantine records, by state',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = new Map<string, number>(redzoneStates.map((s) => [s, 0]));
        for (const r of await runtime.containers.redzone.list())
          counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    const transitions = new Counter({
      name: 'forgeone_container_transitions_total',
      help: 'Container state changes, by the state entered',
      labelNames: ['state'],
      registers,
    });
    this.#off.push(options.events.on('container.state', (e) => transitions.inc({ state: e.state })));
    if (options.decisions) {
      // Listening makes the gate publish each decision on the bus (inline isolation): a cost per call.
      const calls = new Counter({
        name: 'forgeone_syscalls_total',
        help: 'Syscalls decided in this process, by syscall and decision',
        labelNames: ['syscall', 'decision'],
        registers,
      });
      this.#off.push(
        options.events.on('syscall.decided', (e) =>
          calls.inc({ syscall: e.request.syscall, decision: e.decision.action }),
        ),
      );
    }
  }

  close(): void {
    for (const off of this.#off) off();
    this.registry.clear();
  }
}
