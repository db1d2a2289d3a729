import { socketAddress } from '../envoy-values.ts';
import { LISTENER_TYPE, ROUTE_CONFIG_TYPE, targetRouteName } from '../resource-types.ts';
import type { EnvoyObject, TargetSpec } from '../types.ts';
import { EXT_PROC_ENABLED, httpConnectionManager } from './http-filters.ts';
import { notFoundRoute, targetRoute } from './http-route.ts';
import { planVirtualHosts } from './http-virtual-hosts.ts';
import type { ProtocolBuilder } from './protocol.ts';

export const HTTP_LISTENER = 'http';
export const HTTP_ROUTE_CONFIG = 'sluice_http';

/**
 * HTTP targets: one listener whose routes come by RDS, so adding or removing a target changes
 * only the route configuration and clusters and never drains the listener (and its streams).
 */
export const httpProtocol: ProtocolBuilder = {
  protocol: 'http',

  check(target) {
    const http = target.http;
    if (!http) return ['http: an http target needs http.hosts and http.pathPrefix'];
    const issues: string[] = [];
    if (!http.pathPrefix.startsWith('/')) issues.push(`http.pathPrefix: "${http.pathPrefix}" must start with "/"`);
    for (const host of http.hosts) {
      if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) issues.push(`http.hosts: "${host}" is not a host name (no port, no scheme)`);
    }
    return issues;
  },

  build(targets, context) {
    const virtualHosts = planVirtualHosts(targets).map((plan) => {
      const routes = plan.routes.map(({ target, prefix }) => targetRoute(target, prefix, context.routing(target.name), context.input));
      if (!plan.routes.some((r) => r.prefix === '/')) routes.push(notFoundRoute());
      return { name: plan.name, domains: plan.domains, routes };
    });
    const routeConfig: EnvoyObject = { '@type': ROUTE_CONFIG_TYPE, name: HTTP_ROUTE_CONFIG, virtual_hosts: virtualHosts, typed_per_filter_config: EXT_PROC_ENABLED };
    const listener: EnvoyObject = {
      '@type': LISTENER_TYPE,
      name: HTTP_LISTENER,
      address: socketAddress(context.input.envoy.listenAddress, context.input.envoy.httpPort),
      filter_chains: [{
        filters: [{
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: httpConnectionManager(context.input, {
            rds: { route_config_name: HTTP_ROUTE_CONFIG, config_source: context.configSource('rds.json') },
          }),
        }],
      }],
    };
    return {
      listeners: [listener],
      routeConfigs: [routeConfig],
      owners: targets.map((t: TargetSpec) => [targetRouteName(t.name), t.name]),
    };
  },
};
