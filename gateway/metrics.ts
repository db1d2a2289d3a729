import type { Registry } from 'prom-client';
import { CounterFamily, GaugeFamily, mergeMetrics, type MetricsJson } from '../common/metrics/index.ts';
import type { PublishResult } from '../envoy/publisher.ts';
import type { ChildStatus } from './supervised.ts';

/**
 * The gateway's own families: its children's state and restarts, and Envoy config publishes.
 * Labels are the fixed child names and outcome words.
 */
export function gatewayMetrics(registry: Registry, status: () => readonly ChildStatus[]) {
  new GaugeFamily(registry, {
    name: 'sluice_gateway_child_up',
    help: 'Whether each supervised child (envoy, ext-authz, ext-proc) is running (1) or restarting (0).',
    labelNames: ['child'] as const,
    collect: (family) => {
      for (const child of status()) family.cell(child.name).set(child.state === 'running' ? 1 : 0);
    },
  });
  new CounterFamily(registry, {
    name: 'sluice_gateway_child_restarts_total',
    help: 'Restarts of each supervised child after an exit nobody asked for.',
    labelNames: ['child'] as const,
    collect: (family) => {
      for (const child of status()) {
        const cell = family.cell(child.name);
        cell.inc(child.restarts - cell.value);
      }
    },
  });
  const publishes = new CounterFamily(registry, {
    name: 'sluice_gateway_envoy_publishes_total',
    help: 'Envoy configs generated from sluice.yaml and the policies, by outcome: written, unchanged (nothing Envoy sees changed), refused (the last good config stays live).',
    labelNames: ['outcome'] as const,
  });
  return {
    published(result: PublishResult): void {
      publishes.cell(!result.ok ? 'refused' : result.written.length > 0 ? 'written' : 'unchanged').inc();
    },
  };
}

/**
 * The admin port's /metrics: the gateway's registry and each running child's
 * (`/metrics?format=json` on its own admin server), merged into one page. A child that does not
 * answer is left out of this scrape; sluice_gateway_child_up says which.
 */
export async function scrapeAll(own: Registry, children: readonly string[]): Promise<string> {
  const parts = await Promise.all(children.map(async (adminUrl) => {
    try {
      const res = await fetch(`${adminUrl}/metrics?format=json`, { signal: AbortSignal.timeout(2000) });
      return res.ok ? ((await res.json()) as MetricsJson) : undefined;
    } catch {
      return undefined;
    }
  }));
  return mergeMetrics([await own.getMetricsAsJSON(), ...parts.filter((p): p is MetricsJson => p !== undefined)]);
}
