import type { Registry } from 'prom-client';
import type { AdminServer } from '../admin-server.ts';

/**
 * `GET /metrics` on a service's admin server: the Prometheus text format, or with
 * `?format=json` prom-client's JSON form (`getMetricsAsJSON`), which a supervisor running the
 * services as children merges into one page with mergeMetrics.
 */
export function registerMetricsRoute(admin: AdminServer, registry: Registry): void {
  admin.route('GET', '/metrics', async (req, res) => {
    const json = new URL(req.url ?? '/', 'http://admin.invalid').searchParams.get('format') === 'json';
    const body = json ? JSON.stringify(await registry.getMetricsAsJSON()) : await registry.metrics();
    res.writeHead(200, {
      'content-type': json ? 'application/json' : registry.contentType,
      'content-length': Buffer.byteLength(body),
      // Every scrape must see the current values, never a cached page.
      'cache-control': 'no-store',
    });
    res.end(body);
  });
}
