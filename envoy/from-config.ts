import path from 'node:path';
import type { Endpoint, SluiceConfig, TargetConfig } from '../common/config.ts';
import type { RoutingNeeds } from '../ext-authz/policy/index.ts';
import type { GeneratorInput, TargetSpec } from './generate/index.ts';
import type { UpstreamLogins } from './redis-upstream/logins.ts';

/** Where Envoy reaches Sluice's own services, and anything a runner overrides (tests: ports 0). */
export interface ServiceAddresses {
  extAuthz: Endpoint[];
  extProc: Endpoint[];
  /** Overrides of config.envoy for this run (e.g. free ports chosen by a test). */
  envoy?: Partial<Pick<GeneratorInput['envoy'], 'adminAddress' | 'adminPort' | 'listenAddress' | 'httpPort'>>;
  /** Overrides config.envoy.xdsDir (resolved from the config file otherwise). */
  xdsDir?: string;
}

/**
 * The generator's input from sluice.yaml and the live policies: every declared target, with the
 * routing its policies need (approval holds, bodies sent with the check). The one place that
 * maps the operator's config onto Envoy's.
 */
export function generatorInput(config: SluiceConfig, routingNeeds: (target: string) => RoutingNeeds, services: ServiceAddresses, logins: UpstreamLogins = new Map()): GeneratorInput {
  const routing = new Map<string, RoutingNeeds>();
  for (const target of config.targets) routing.set(target.name, routingNeeds(target.name));
  return {
    envoy: {
      adminAddress: config.envoy.adminAddress,
      adminPort: config.envoy.adminPort,
      listenAddress: config.envoy.listenAddress,
      httpPort: config.envoy.listenPort,
      extAuthzTimeout: config.envoy.extAuthzTimeout,
      approvalTimeout: config.envoy.approvalTimeout,
      maxRequestBodyBytes: config.envoy.maxRequestBodyBytes,
      maxRequestHeadersKb: config.envoy.maxRequestHeadersKb,
      ...services.envoy,
    },
    services: { extAuthz: services.extAuthz, extProc: services.extProc },
    targets: config.targets.map((target) => targetSpec(target, routing.get(target.name)!, logins)),
    routing,
    xdsDir: services.xdsDir ?? path.resolve(config.baseDir, config.envoy.xdsDir),
  };
}

function targetSpec(target: TargetConfig, needs: RoutingNeeds, logins: UpstreamLogins): TargetSpec {
  return {
    name: target.name,
    protocol: target.protocol,
    endpoints: target.endpoints,
    lbPolicy: target.lbPolicy,
    healthCheck: target.healthCheck && {
      path: target.healthCheck.path,
      intervalMs: seconds(target.healthCheck.interval) * 1000,
      timeoutMs: seconds(target.healthCheck.timeout) * 1000,
      unhealthyThreshold: target.healthCheck.unhealthyThreshold,
      healthyThreshold: target.healthCheck.healthyThreshold,
    },
    tls: target.tls,
    http: target.protocol === 'http' ? target.http : null,
    postgres: target.postgres ? { port: target.postgres.port, ...(target.postgres.tls ? { tls: target.postgres.tls } : {}) } : null,
    redis: target.redis ? {
      port: target.redis.port,
      deniedCommands: target.redis.deniedCommands,
      opTimeout: target.redis.opTimeout,
      recording: target.redis.recording,
      // `auto`: on when a policy of the target has per-command or key rules (or records them).
      commandChecks: target.redis.commands === 'on' || (target.redis.commands === 'auto' && needs.commandChecks === true),
      upstreamAuth: logins.get(target.name) ?? null,
    } : null,
    timeouts: target.timeouts,
  };
}

function seconds(duration: string): number {
  return Number.parseFloat(duration);
}

/**
 * Where Envoy (and ext-proc, for its PostgreSQL and Redis checks) reaches Sluice's services run
 * apart from it: extAuthz.endpoints / extProc.endpoints, else the service's own host:port.
 */
export function serviceEndpoints(config: SluiceConfig): { extAuthz: Endpoint[]; extProc: Endpoint[] } {
  const at = (service: { host: string; port: number; endpoints: readonly Endpoint[] }) =>
    service.endpoints.length > 0 ? [...service.endpoints] : [reachable(service.host, service.port)];
  return { extAuthz: at(config.extAuthz), extProc: at(config.extProc) };
}

/** How a service bound to `host` is reached: a wildcard bind is reached on loopback. */
export function reachable(host: string, port: number): Endpoint {
  return { host: host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host, port };
}
