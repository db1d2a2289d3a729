import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The project's protos/ folder (minimal, wire-compatible Envoy definitions). */
export const PROTO_DIR = fileURLToPath(new URL('../protos/', import.meta.url));

/**
 * Loader options shared by every service. `defaults: true` lets handlers read absent fields as
 * empty values instead of undefined; bytes stay Buffers so header raw_value round-trips exactly.
 */
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

const cache = new Map<string, grpc.GrpcObject>();

/** Loads one proto file (relative to protos/) once per process. */
export function loadProto(relativeFile: string): grpc.GrpcObject {
  let loaded = cache.get(relativeFile);
  if (!loaded) {
    const definition = protoLoader.loadSync(path.join(PROTO_DIR, relativeFile), LOADER_OPTIONS);
    loaded = grpc.loadPackageDefinition(definition);
    cache.set(relativeFile, loaded);
  }
  return loaded;
}

/** Walks a dotted package path (e.g. `envoy.service.auth.v3.Authorization`) in a loaded proto. */
export function lookup<T>(root: grpc.GrpcObject, dotted: string): T {
  let node: unknown = root;
  for (const part of dotted.split('.')) {
    node = (node as Record<string, unknown> | undefined)?.[part];
  }
  if (node === undefined) throw new Error(`proto symbol not found: ${dotted}`);
  return node as T;
}

export function authorizationService(): grpc.ServiceClientConstructor {
  return lookup(loadProto('envoy/service/auth/v3/external_auth.proto'), 'envoy.service.auth.v3.Authorization');
}

export function externalProcessorService(): grpc.ServiceClientConstructor {
  return lookup(loadProto('envoy/service/ext_proc/v3/external_processor.proto'), 'envoy.service.ext_proc.v3.ExternalProcessor');
}

/** L4 ext_proc (envoy.filters.network.ext_proc): one bidirectional stream per TCP connection. */
export function networkExternalProcessorService(): grpc.ServiceClientConstructor {
  return lookup(
    loadProto('envoy/service/network_ext_proc/v3/network_external_processor.proto'),
    'envoy.service.network_ext_proc.v3.NetworkExternalProcessor',
  );
}

export function healthService(): grpc.ServiceClientConstructor {
  return lookup(loadProto('grpc/health/v1/health.proto'), 'grpc.health.v1.Health');
}

/** redis_proxy's external auth: one unary Authenticate per AUTH / HELLO AUTH of a client. */
export function redisExternalAuthService(): grpc.ServiceClientConstructor {
  return lookup(loadProto('envoy/service/redis_auth/v3/redis_external_auth.proto'), 'envoy.service.redis_auth.v3.RedisProxyExternalAuth');
}
