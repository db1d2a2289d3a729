import { isIP } from 'node:net';
import type { Endpoint } from './config.ts';

/**
 * The grpc-js target for one service reached at several replicas: `ipv4:a:p,b:p` (or `ipv6:`)
 * when every replica is an IP literal of one family, so the channel fails over from a replica
 * that went away to the next; otherwise the first replica's `host:port` (a DNS name resolves to
 * whatever it lists).
 */
export function grpcTarget(endpoints: readonly Endpoint[]): string {
  if (endpoints.length === 0) throw new Error('grpcTarget needs at least one endpoint');
  const families = new Set(endpoints.map((e) => isIP(e.host)));
  if (endpoints.length > 1 && families.size === 1 && !families.has(0)) {
    const v6 = families.has(6);
    return `${v6 ? 'ipv6' : 'ipv4'}:${endpoints.map((e) => (v6 ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`)).join(',')}`;
  }
  const first = endpoints[0]!;
  return isIP(first.host) === 6 ? `[${first.host}]:${first.port}` : `${first.host}:${first.port}`;
}
