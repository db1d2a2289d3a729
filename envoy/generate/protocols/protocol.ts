import type { EnvoyObject, GeneratorInput, RoutingNeeds, TargetSpec } from '../types.ts';

/** What the generator hands every protocol builder. */
export interface ProtocolContext {
  readonly input: GeneratorInput;
  /** The policies' needs for one target (both false when the policies say nothing). */
  routing(target: string): RoutingNeeds;
  /** Where Envoy reads one of the xDS files from (a path_config_source on the watched directory). */
  configSource(file: 'rds.json'): EnvoyObject;
}

export interface ProtocolOutput {
  listeners: EnvoyObject[];
  routeConfigs: EnvoyObject[];
  /** Resource name → target name, for resources this builder made for one target. */
  owners: [string, string][];
}

/**
 * One builder per protocol: it owns the listener(s) callers reach its targets on, and any route
 * configuration they need. Clusters are protocol-neutral and built by the generator. A builder
 * is called on every generation, with its targets (maybe none), so it can keep a listener up
 * while targets come and go.
 */
export interface ProtocolBuilder {
  readonly protocol: TargetSpec['protocol'];
  /** Problems with the protocol-specific part of one target, as "option: message"; [] when none. */
  check(target: TargetSpec): string[];
  build(targets: readonly TargetSpec[], context: ProtocolContext): ProtocolOutput;
}
