import { collectDefaultMetrics, Registry } from 'prom-client';

/** The `service` label every sample of a service's registry carries. */
export type ServiceName = 'ext-authz' | 'ext-proc' | 'gateway';

/**
 * A service's own registry, never prom-client's global one: tests and `sluice dev` run ext-authz
 * and ext-proc in one process, and each must serve only its own families (a global registry
 * would also refuse the second service's families as duplicates). Process and Node.js metrics
 * are collected into each registry, so each /metrics is complete on its own; two services in one
 * process then report the same process figures under their own `service` label.
 */
export function createServiceRegistry(service: ServiceName): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
