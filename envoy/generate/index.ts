export type {
  Endpoint, TargetTls, TargetHealthCheck, TargetSpec, RoutingNeeds, GeneratorInput,
  EnvoyObject, DiscoveryResponse, XdsFileName, GeneratedConfig,
} from './types.ts';
export { generateEnvoyConfig } from './generate.ts';
export { validateGenerated, staticEquivalent } from './validate.ts';
export { applyXds, writeBootstrap, type ApplyXdsOptions, type ApplyXdsResult } from './write-xds.ts';
export { PROTOCOL_BUILDERS } from './protocols/registry.ts';
export type { ProtocolBuilder } from './protocols/protocol.ts';
