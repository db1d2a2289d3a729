import { socketAddress } from './envoy-values.ts';
import { extAuthzCluster, extProcCluster } from './service-clusters.ts';
import type { EnvoyObject, GeneratorInput } from './types.ts';

/**
 * Where Envoy reads one xDS file. Watching the directory (not the file) is what makes an atomic
 * rename over the file reach Envoy; the files are JSON, which Envoy parses far faster than YAML.
 */
export function pathConfigSource(xdsDir: string, file: string): EnvoyObject {
  return {
    path_config_source: { path: `${xdsDir.replace(/\/+$/, '')}/${file}`, watched_directory: { path: xdsDir } },
    resource_api_version: 'V3',
  };
}

/** The file Envoy starts from: admin, the two service clusters, and where the rest comes from. */
export function buildBootstrap(input: GeneratorInput): EnvoyObject {
  return {
    node: { id: 'sluice', cluster: 'sluice' },
    admin: { address: socketAddress(input.envoy.adminAddress, input.envoy.adminPort) },
    static_resources: {
      clusters: [extAuthzCluster(input.services.extAuthz), extProcCluster(input.services.extProc)],
    },
    dynamic_resources: {
      lds_config: pathConfigSource(input.xdsDir, 'lds.json'),
      cds_config: pathConfigSource(input.xdsDir, 'cds.json'),
    },
  };
}
