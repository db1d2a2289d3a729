import { createHash } from 'node:crypto';
import { buildBootstrap, pathConfigSource } from './bootstrap.ts';
import { checkInput } from './check-input.ts';
import { PROTOCOL_BUILDERS } from './protocols/registry.ts';
import type { ProtocolContext } from './protocols/protocol.ts';
import { targetClusterName } from './resource-types.ts';
import { targetCluster } from './target-cluster.ts';
import type { DiscoveryResponse, EnvoyObject, GeneratedConfig, GeneratorInput, RoutingNeeds } from './types.ts';

const NO_NEEDS: RoutingNeeds = Object.freeze({ mayHold: false, inspectsBody: false });

/**
 * Builds the whole Envoy config from the declared targets: the bootstrap Envoy starts from, and
 * the three xDS files (clusters, routes, listeners) it watches. Pure: the same input gives the
 * same bytes, so unchanged files are not rewritten and Envoy sees no update.
 */
export function generateEnvoyConfig(input: GeneratorInput): GeneratedConfig {
  checkInput(input);
  const context: ProtocolContext = {
    input,
    routing: (target) => input.routing.get(target) ?? NO_NEEDS,
    configSource: (file) => pathConfigSource(input.xdsDir, file),
  };
  const owners = new Map<string, string>();
  const listeners: EnvoyObject[] = [];
  const routeConfigs: EnvoyObject[] = [];
  for (const builder of PROTOCOL_BUILDERS) {
    const out = builder.build(input.targets.filter((t) => t.protocol === builder.protocol), context);
    listeners.push(...out.listeners);
    routeConfigs.push(...out.routeConfigs);
    for (const [resource, target] of out.owners) owners.set(resource, target);
  }
  const clusters = input.targets.map((target) => {
    owners.set(targetClusterName(target.name), target.name);
    return targetCluster(target);
  });
  return {
    bootstrap: buildBootstrap(input),
    files: { 'cds.json': discoveryResponse(clusters), 'rds.json': discoveryResponse(routeConfigs), 'lds.json': discoveryResponse(listeners) },
    owners,
  };
}

/** The version is a digest of the content, so it changes exactly when the resources do. */
export function discoveryResponse(resources: EnvoyObject[]): DiscoveryResponse {
  const digest = createHash('sha256').update(JSON.stringify(resources)).digest('hex').slice(0, 16);
  return { version_info: digest, resources };
}
