/**
 * HTTP-path benchmark: bare Envoy vs Envoy's native jwt_authn vs Envoy + Sluice ext-authz, side by
 * side in one run, on the same token and JWKS, plus the in-process decision rate.
 *
 *   npm run bench              (defaults: 10 s per throughput run, 10 s per fixed-rate run)
 *   BENCH_SECONDS=5 npm run bench
 *
 * Not a test: it prints figures and ratios and exits 0 unless something fails to start.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DevIssuer } from '../dev/dev-issuer.ts';
import { renderTemplate } from '../envoy/render.ts';
import { startEnvoy } from '../common/envoy-process.ts';
import { freePort } from './lib/free-port.ts';
import { startExtAuthzProcess } from './lib/ext-authz-process.ts';
import { throughput, type ThroughputResult } from './lib/throughput.ts';
import { fixedRate, type LatencyResult } from './lib/fixed-rate.ts';
import { inProcessDecisions } from './lib/in-process.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const POLICIES = fileURLToPath(new URL('../test/fixtures/policies/', import.meta.url));
const TEMPLATE = fileURLToPath(new URL('./envoy-bench.yaml', import.meta.url));
const SETUPS = ['bare', 'jwt', 'extauthz'] as const;
type Setup = (typeof SETUPS)[number];

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-'));
  const issuer = await DevIssuer.start();
  const token = await issuer.mint({ sub: 'alice', groups: ['engineering'], ttlSeconds: 7200 });
  const ports = { ADMIN_PORT: await freePort(), UPSTREAM_PORT: await freePort(), BARE_PORT: await freePort(), JWT_PORT: await freePort(), EXTAUTHZ_PORT: await freePort(), EXT_AUTHZ_SERVICE_PORT: await freePort() };
  const authz = await startExtAuthzProcess({
    dir, port: ports.EXT_AUTHZ_SERVICE_PORT, policyDir: POLICIES,
    issuers: [{ name: 'dev', issuer: issuer.url, audiences: ['sluice'] }],
  });
  const envoy = await startEnvoy({
    concurrency: 1,
    config: renderTemplate(readFileSync(TEMPLATE, 'utf8'), {
      ...ports, ISSUER_URL: issuer.url, JWKS_JSON: JSON.stringify({ keys: [issuer.currentPublicJwk()] }),
    }, TEMPLATE),
  });
  const url: Record<Setup, string> = {
    bare: `http://127.0.0.1:${ports.BARE_PORT}/api/items`,
    jwt: `http://127.0.0.1:${ports.JWT_PORT}/api/items`,
    extauthz: `http://127.0.0.1:${ports.EXTAUTHZ_PORT}/api/items`,
  };
  const headers = { authorization: `Bearer ${token}` };
  try {
    await sanityCheck(url, headers);
    console.log(`# Sluice HTTP-path bench — ${new Date().toISOString()}, ${SECONDS} s per run, Envoy --concurrency 1, ext-authz 1 process`);

    const tput: Partial<Record<Setup, ThroughputResult>> = {};
    for (const setup of SETUPS) {
      await throughput(url[setup], { durationS: 2, connections: CONNECTIONS, headers }); // warm-up
      tput[setup] = await throughput(url[setup], { durationS: SECONDS, connections: CONNECTIONS, headers });
    }
    const lat: Partial<Record<Setup, LatencyResult>> = {};
    for (const setup of SETUPS) {
      await fixedRate(url[setup], { rate: RATE, durationMs: 2000, headers });
      lat[setup] = await fixedRate(url[setup], { rate: RATE, durationMs: SECONDS * 1000, headers });
    }
    await authz.stop(); // free the core for the in-process figure
    const inProc = await inProcessDecisions({ issuerUrl: issuer.url, token, policyDir: POLICIES });

    report(tput as Record<Setup, ThroughputResult>, lat as Record<Setup, LatencyResult>, inProc);
  } finally {
    await envoy.stop();
    await authz.stop().catch(() => undefined);
    await issuer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function sanityCheck(url: Record<Setup, string>, headers: Record<string, string>): Promise<void> {
  for (const setup of SETUPS) {
    const ok = await fetch(url[setup], { headers });
    if (ok.status !== 200) throw new Error(`${setup}: expected 200 with the token, got ${ok.status}`);
  }
  for (const setup of ['jwt', 'extauthz'] as const) {
    const denied = await fetch(url[setup]);
    if (denied.status !== 401) throw new Error(`${setup}: expected 401 without a token, got ${denied.status} — auth is not active`);
  }
}

function report(t: Record<Setup, ThroughputResult>, l: Record<Setup, LatencyResult>, p: Awaited<ReturnType<typeof inProcessDecisions>>): void {
  const f = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log('\n## Throughput (closed loop, autocannon, %d connections)', CONNECTIONS);
  console.log('setup      req/s     p50 ms  p99 ms  non-2xx  errors');
  for (const s of SETUPS) console.log(`${s.padEnd(9)} ${f(t[s].rps).padStart(8)}  ${f(t[s].p50, 2).padStart(6)}  ${f(t[s].p99, 2).padStart(6)}  ${String(t[s].non2xx).padStart(7)}  ${String(t[s].errors).padStart(6)}`);
  console.log(`ratio ext-authz / jwt_authn throughput: ${f(t.extauthz.rps / t.jwt.rps, 3)}   (target >= 0.60)`);
  console.log(`ratio ext-authz / bare throughput:      ${f(t.extauthz.rps / t.bare.rps, 3)}`);

  console.log('\n## Latency at a fixed %d req/s (open loop)', RATE);
  console.log('setup      sent    ok      p50 ms  p90 ms  p99 ms  max ms');
  for (const s of SETUPS) console.log(`${s.padEnd(9)} ${String(l[s].sent).padStart(6)}  ${String(l[s].ok).padStart(6)}  ${f(l[s].p50, 3).padStart(6)}  ${f(l[s].p90, 3).padStart(6)}  ${f(l[s].p99, 3).padStart(6)}  ${f(l[s].max, 3).padStart(6)}`);
  console.log(`added p99 ext-authz over bare: ${f(l.extauthz.p99 - l.bare.p99, 3)} ms   (target <= 1 ms)`);
  console.log(`added p99 jwt_authn over bare: ${f(l.jwt.p99 - l.bare.p99, 3)} ms`);

  console.log('\n## In-process decision, one core (cached token + compiled policy)');
  console.log(`policy evaluate only:             ${f(p.evaluatePerS)} /s`);
  console.log(`Authorizer.check (cache hit):     ${f(p.decisionPerS)} /s   (target >= 500,000)`);
  console.log(`handler path minus gRPC:          ${f(p.checkPathPerS)} /s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
