import { performance } from 'node:perf_hooks';
import { JwtIdentityVerifier } from '../../ext-authz/identity/index.ts';
import { parseIssuerConfig } from '../../ext-authz/identity/config.ts';
import { loadPolicyDir } from '../../ext-authz/policy/index.ts';
import { Authorizer } from '../../ext-authz/authorizer.ts';
import { httpAdapter } from '../../ext-authz/protocols/http/adapter.ts';
import { silentLogger } from '../../common/logger.ts';

export interface InProcessResult {
  evaluatePerS: number;
  decisionPerS: number;
  checkPathPerS: number;
}

/**
 * The decision without the network: a cached token (verified once, then served from the LRU)
 * plus a compiled policy. Three layers, each timed on its own for ~1.5 s on one core:
 * policy evaluate alone; Authorizer.check (identity cache hit + policy); and the whole handler
 * path minus gRPC (read attributes, decide, build the CheckResponse).
 */
export async function inProcessDecisions(opts: { issuerUrl: string; token: string; policyDir: string }): Promise<InProcessResult> {
  const verifier = new JwtIdentityVerifier({ issuers: [parseIssuerConfig({ name: 'dev', issuer: opts.issuerUrl, audiences: ['sluice'] }, 'bench')] });
  const set = await loadPolicyDir(opts.policyDir);
  const authorizer = new Authorizer({ verifier, policies: () => set, logger: silentLogger(), newSessionId: () => 'bench-session' });
  const raw = {
    attributes: {
      request: { http: { id: 'r', method: 'GET', path: '/api/items?page=2', headers: { authorization: `Bearer ${opts.token}`, host: 'gw' } } },
      context_extensions: { target: 'demo-api' },
    },
  };
  const attributes = httpAdapter.read(raw);
  const first = await authorizer.check(attributes);
  if (first.kind !== 'allow') throw new Error(`bench request is not allowed: ${JSON.stringify(first)}`);
  const identity = first.identity;
  const headers = attributes.action.kind === 'http' ? attributes.action.headers : {};

  const evaluatePerS = timeSync(() => set.evaluate({ identity, target: 'demo-api', method: 'GET', path: '/api/items', headers }));
  const decisionPerS = await timeAsync(() => authorizer.check(attributes));
  const checkPathPerS = await timeAsync(async () => {
    const a = httpAdapter.read(raw);
    return httpAdapter.respond(await authorizer.check(a), a);
  });
  return { evaluatePerS, decisionPerS, checkPathPerS };
}

function timeSync(fn: () => unknown, ms = 1500): number {
  let n = 0;
  const end = performance.now() + ms;
  const started = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
  }
  return n / ((performance.now() - started) / 1000);
}

async function timeAsync(fn: () => Promise<unknown>, ms = 1500): Promise<number> {
  let n = 0;
  const end = performance.now() + ms;
  const started = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) await fn();
    n += 1000;
  }
  return n / ((performance.now() - started) / 1000);
}
