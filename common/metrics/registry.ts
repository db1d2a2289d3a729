import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';

/** The `service` label every sample of a service's registry carries. */
export type ServiceName = 'ext-authz' | 'ext-proc' | 'gateway';

/**
 * A service's own registry, never prom-client's global one: tests and `sluice dev` run ext-authz
 * and ext-proc in one process, and each must serve only its own families (a global registry
 * would also refuse the second service's families as duplicates). Each page still carries the
 * process and Node.js metrics, under its own `service` label, so it is complete on its own.
 */
export function createServiceRegistry(service: ServiceName): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  for (const metric of processRegistry().getMetricsAsArray()) registry.registerMetric(sharedView(metric as unknown as RegisteredMetric));
  return registry;
}

/** What a registry reads of a metric it holds (prom-client's typings name only its own classes). */
interface RegisteredMetric {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  get(): Promise<{ values: { labels: Record<string, string | number> }[] }>;
}

let processMetrics: Registry | undefined;

/**
 * Process and Node.js metrics, collected once per process however many services it starts:
 * prom-client's collectors start an event-loop monitor (a 10 ms timer) and a GC observer that are
 * never stopped, so one set per service instance would pile up wherever services restart in
 * process (the e2e harness, a supervisor).
 */
function processRegistry(): Registry {
  if (processMetrics === undefined) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

/**
 * A process metric as one service's registry sees it. The registry writes its default labels
 * into the sample objects get() returns, and prom-client's get() returns its stored samples, so
 * each read gets copies: otherwise the first service's label would stick to the shared samples.
 * Resetting one service's metrics leaves the process's alone.
 */
function sharedView(metric: RegisteredMetric): Metric {
  const view: RegisteredMetric & { reset(): void } = {
    name: metric.name,
    help: metric.help,
    type: metric.type,
    aggregator: metric.aggregator,
    get: async () => {
      const family = await metric.get();
      return { ...family, values: family.values.map((v) => ({ ...v, labels: { ...v.labels } })) };
    },
    reset: () => undefined,
  };
  return view as unknown as Metric;
}
