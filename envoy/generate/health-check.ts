import { msDuration } from './envoy-values.ts';
import type { EnvoyObject, TargetHealthCheck, TargetSpec } from './types.ts';

/** Active health checking: an HTTP GET on `path` for HTTP targets, a TCP connect for the others. */
export function healthCheck(target: TargetSpec, check: TargetHealthCheck): EnvoyObject {
  return {
    timeout: msDuration(check.timeoutMs),
    interval: msDuration(check.intervalMs),
    unhealthy_threshold: check.unhealthyThreshold,
    healthy_threshold: check.healthyThreshold,
    ...(target.protocol === 'http'
      ? { http_health_check: { path: check.path ?? '/' } }
      : { tcp_health_check: {} }),
  };
}
