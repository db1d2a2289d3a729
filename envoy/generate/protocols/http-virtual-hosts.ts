import { SluiceError } from '../../../common/errors.ts';
import type { TargetSpec } from '../types.ts';

export interface VirtualHostPlan {
  name: string;
  domains: string[];
  /** Longest prefix first, so the most specific target wins. */
  routes: { target: TargetSpec; prefix: string }[];
}

interface Claim { target: TargetSpec; prefix: string }

/**
 * Groups HTTP targets into virtual hosts. Each host a target names gets the targets that name
 * it plus the any-host targets (hosts []) — a named host wins over an any-host target at the
 * same prefix; hosts that end up with the same targets share one virtual host. The any-host
 * targets alone make the "*" virtual host, which always exists. Two targets on the same host and
 * prefix are an error naming both.
 */
export function planVirtualHosts(targets: readonly TargetSpec[]): VirtualHostPlan[] {
  const anyHost: Claim[] = [];
  const byHost = new Map<string, Claim[]>();
  for (const target of targets) {
    const http = target.http!;
    const claim = { target, prefix: http.pathPrefix };
    if (http.hosts.length === 0) claimOnce(anyHost, claim, '*');
    for (const host of new Set(http.hosts.map((h) => h.toLowerCase()))) {
      const claims = byHost.get(host) ?? [];
      claimOnce(claims, claim, host);
      byHost.set(host, claims);
    }
  }

  const groups = new Map<string, { domains: string[]; claims: Claim[] }>();
  for (const [host, claims] of byHost) {
    const owned = new Set(claims.map((c) => c.prefix));
    const all = [...claims, ...anyHost.filter((c) => !owned.has(c.prefix))];
    const key = all.map((c) => `${c.target.name}\0${c.prefix}`).sort().join('\n');
    const group = groups.get(key) ?? { domains: [], claims: all };
    group.domains.push(host);
    groups.set(key, group);
  }

  const plans = [...groups.values()].map(({ domains, claims }) => {
    domains.sort();
    return { name: `hosts_${domains[0]}`, domains, routes: byLongestPrefix(claims) };
  });
  plans.sort((a, b) => a.name.localeCompare(b.name));
  plans.push({ name: 'any_host', domains: ['*'], routes: byLongestPrefix(anyHost) });
  return plans;
}

function claimOnce(claims: Claim[], claim: Claim, host: string): void {
  const taken = claims.find((c) => c.prefix === claim.prefix);
  if (taken) {
    throw new SluiceError('ERR_CONFIG_INVALID',
      `targets ${taken.target.name} and ${claim.target.name} are both routed at host ${host} and path prefix ${claim.prefix}`,
      { details: { target: claim.target.name, targets: [taken.target.name, claim.target.name], host, pathPrefix: claim.prefix } });
  }
  claims.push(claim);
}

function byLongestPrefix(claims: readonly Claim[]): Claim[] {
  return [...claims].sort((a, b) => b.prefix.length - a.prefix.length || (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}
