/** Type URLs of the resources the generator writes, and the names both sides agree on. */
export const CLUSTER_TYPE = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const LISTENER_TYPE = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE_CONFIG_TYPE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';

export const EXT_AUTHZ_CLUSTER = 'sluice_ext_authz';
export const EXT_PROC_CLUSTER = 'sluice_ext_proc';

export function targetClusterName(target: string): string {
  return `target_${target}`;
}
export function targetRouteName(target: string): string {
  return `route_${target}`;
}
