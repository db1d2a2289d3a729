import { isIP } from 'node:net';
import { SluiceError } from '../../common/errors.ts';
import type { Endpoint, EnvoyObject } from './types.ts';

/**
 * A STATIC cluster takes IP literals only: a host name there makes Envoy reject the whole config
 * ("malformed IP address"). Any name in the list turns the cluster into STRICT_DNS, which also
 * resolves the literals (to themselves).
 */
export function discoveryType(endpoints: readonly Endpoint[]): EnvoyObject {
  return endpoints.every((e) => isIP(e.host) !== 0)
    ? { type: 'STATIC' }
    : { type: 'STRICT_DNS', dns_lookup_family: 'V4_PREFERRED' };
}

export function socketAddress(host: string, port: number): EnvoyObject {
  return { socket_address: { address: host, port_value: port } };
}

export function loadAssignment(clusterName: string, endpoints: readonly Endpoint[]): EnvoyObject {
  return {
    cluster_name: clusterName,
    endpoints: [{ lb_endpoints: endpoints.map((e) => ({ endpoint: { address: socketAddress(e.host, e.port) } })) }],
  };
}

const DURATION = /^(\d+)(\.\d{1,9})?s$/;

/** Seconds in an Envoy JSON duration ("30s", "1.5s"); anything else is a config error naming the option. */
export function durationSeconds(value: string, option: string): number {
  const match = DURATION.exec(value);
  if (!match) throw new SluiceError('ERR_CONFIG_INVALID', `${option}: "${value}" is not a duration like "5s" or "0.25s"`, { details: { option, value } });
  return Number(value.slice(0, -1));
}

export function isDuration(value: string): boolean {
  return DURATION.test(value);
}

/** Milliseconds as an Envoy JSON duration. */
export function msDuration(ms: number): string {
  return `${ms / 1000}s`;
}
