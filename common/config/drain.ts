import type { DrainSettings } from '../grpc-server.ts';

/** `extAuthz.drain` / `extProc.drain` as sluice.yaml has them (durations in seconds, e.g. "5s"). */
export interface DrainConfig {
  delay: string;
  timeout: string;
}

const SECONDS = { type: 'string', pattern: '^[0-9]+(\\.[0-9]{1,3})?s$', hint: 'must be a duration in seconds, e.g. "5s"' } as const;

/**
 * The schema of a service's drain: one definition for both services, each with its own default
 * bound for calls in flight. The delay's default (5 s) is above the time Envoy's health checks of
 * the service clusters need to take a NOT_SERVING replica out (envoy/generate/service-clusters.ts:
 * two failed checks 1 s apart, so about 2-3 s).
 */
export function drainSchema(timeoutDefault: string) {
  return {
    type: 'object', additionalProperties: false,
    properties: {
      delay: { ...SECONDS, default: '5s' },
      timeout: { ...SECONDS, default: timeoutDefault },
    },
    default: {},
  } as const;
}

export function drainSettings(config: DrainConfig): DrainSettings {
  return { delayMs: seconds(config.delay), timeoutMs: seconds(config.timeout) };
}

function seconds(duration: string): number {
  return Math.round(Number.parseFloat(duration) * 1000);
}
