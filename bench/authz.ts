/**
 * HTTP-path benchmark, side by side in one run on the same token and JWKS:
 *   bare      Envoy, no auth
 *   jwt       Envoy's native jwt_authn (verified-token cache on)
 *   noop      Envoy + ext_authz to a grpc-js server that allows at once (floor of the gRPC hop)
 *   extauthz  Envoy + Sluice ext-authz (cached token, compiled policy, decision log on)
 * plus the in-process decision rate. Envoy runs one worker; ext-authz one process.
 *
 *   npm run bench                  (10 s per run)
 *   BENCH_SECONDS=5 npm run bench
 *
 * Not a test: it prints figures and ratios, and fails only if something does not start or a
 * setup does not behave (e.g. auth not active).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { DevIssuer } from '../dev/dev-issuer.ts';
import { renderTemplate } from './lib/render-template.ts';
import { startEnvoy } from '../common/envoy-process.ts';
import { freePort } from '../common/free-port.ts';
import { startExtAuthzProcess } from './lib/ext-authz-process.ts';
import { throughput, type ThroughputResult } from './lib/throughput.ts';
import { fixedRate, interleavedFixedRate, type LatencyResult } from './lib/fixed-rate.ts';
import { inProcessDecisions } from './lib/in-process.ts';
import { measureCpu } from './lib/proc-cpu.ts';
import { waitForListeners } from './lib/ports.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const ROUNDS = 5;
const POLICIES = fileURLToPath(new URL('../test/fixtures/policies/', import.meta.url));
const TEMPLATE = fileURLToPath(new URL('./envoy-bench.yaml', import.meta.url));
const NOOP_SERVER = fileURLToPath(new URL('./lib/noop-authz-server.ts', import.meta.url));
const SETUPS = ['bare', 'jwt', 'noop', 'extauthz'] as const;
type Setup = (typeof SETUPS)[number];
interface Run extends ThroughputResult { envoyUsPerReq: number; authzUsPerReq: number }

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-'));
  const issuer = await DevIssuer.start();
  const token = await issuer.mint({ sub: 'alice', groups: ['engineering'], ttlSeconds: 7200 });
  const ports = {
    ADMIN_PORT: await freePort(), UPSTREAM_PORT: await freePort(), BARE_PORT: await freePort(), JWT_PORT: await freePort(),
    NOOP_PORT: await freePort(), EXTAUTHZ_PORT: await freePort(), EXT_AUTHZ_SERVICE_PORT: await freePort(), NOOP_SERVICE_PORT: await freePort(),
  };
  const authz = await startExtAuthzProcess({
    dir, port: ports.EXT_AUTHZ_SERVICE_PORT, policyDir: POLICIES,
    issuers: [{ name: 'dev', issuer: issuer.url, audiences: ['sluice'] }],
    approvals: { port: await freePort() },
  });
  const noop = spawn(process.execPath, ['--import', 'tsx', NOOP_SERVER, String(ports.NOOP_SERVICE_PORT)], { stdio: 'inherit' });
  const envoy = await startEnvoy({
    concurrency: 1,
    config: renderTemplate(readFileSync(TEMPLATE, 'utf8'), {
      ...ports, ISSUER_URL: issuer.url, JWKS_JSON: JSON.stringify({ keys: [issuer.currentPublicJwk()] }),
    }, TEMPLATE),
  });
  const url = (setup: Setup) => `http://127.0.0.1:${{ bare: ports.BARE_PORT, jwt: ports.JWT_PORT, noop: ports.NOOP_PORT, extauthz: ports.EXTAUTHZ_PORT }[setup]}/api/items`;
  const authPid: Record<Setup, number | undefined> = { bare: undefined, jwt: undefined, noop: noop.pid, extauthz: authz.pid };
  const headers = { authorization: `Bearer ${token}` };
  try {
    await waitForListeners({ 'no-op ext_authz': ports.NOOP_SERVICE_PORT });
    await sanityCheck(url, headers);
    console.log(`# Sluice HTTP-path bench — ${new Date().toISOString()}, ${SECONDS} s per run, Envoy --concurrency 1, one auth process`);

    const tput = {} as Record<Setup, Run>;
    for (const setup of SETUPS) {
      await throughput(url(setup), { durationS: 2, connections: CONNECTIONS, headers }); // warm-up
      const pids: Record<string, number> = { envoy: envoy.pid, ...(authPid[setup] ? { authz: authPid[setup]! } : {}) };
      const { result, cpuMs } = await measureCpu(pids, () => throughput(url(setup), { durationS: SECONDS, connections: CONNECTIONS, headers }));
      const requests = result.rps * SECONDS;
      tput[setup] = { ...result, envoyUsPerReq: (cpuMs.envoy! * 1000) / requests, authzUsPerReq: ((cpuMs.authz ?? 0) * 1000) / requests };
    }
    // Latency: every setup warmed, then short rounds in rotating order, merged per setup, so no
    // setup gets all the quiet (or all the noisy) seconds of the run.
    for (const setup of SETUPS) await fixedRate(url(setup), { rate: RATE, durationMs: 2000, headers });
    const urls = Object.fromEntries(SETUPS.map((setup) => [setup, url(setup)]));
    const lat = await interleavedFixedRate(urls, { rate: RATE, durationMs: SECONDS * 1000, rounds: ROUNDS, headers }) as Record<Setup, LatencyResult>;
    await authz.stop(); // free the core for the in-process figure
    noop.kill('SIGTERM');
    const inProc = await inProcessDecisions({ issuerUrl: issuer.url, token, policyDir: POLICIES });
    report(tput, lat, inProc);
  } finally {
    await envoy.stop();
    await authz.stop().catch(() => undefined);
    noop.kill('SIGKILL');
    await issuer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function sanityCheck(url: (s: Setup) => string, headers: Record<string, string>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (const setup of SETUPS) {
    let status = 0;
    while (status !== 200 && Date.now() < deadline) {
      status = (await fetch(url(setup), { headers }).catch(() => ({ status: 0 }))).status;
      if (status !== 200) await sleep(100);
    }
    if (status !== 200) throw new Error(`${setup}: expected 200 with the token, got ${status}`);
  }
  for (const setup of ['jwt', 'extauthz'] as const) {
    const denied = await fetch(url(setup));
    if (denied.status !== 401) throw new Error(`${setup}: expected 401 without a token, got ${denied.status}; auth is not active`);
  }
}

function report(t: Record<Setup, Run>, l: Record<Setup, LatencyResult>, p: Awaited<ReturnType<typeof inProcessDecisions>>): void {
  const f = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log(`\n## Throughput (closed loop, autocannon, ${CONNECTIONS} connections)`);
  console.log('setup      req/s     p50 ms  p99 ms  non-2xx  envoy µs/req  auth µs/req');
  for (const s of SETUPS) {
    const r = t[s];
    console.log(`${s.padEnd(9)} ${f(r.rps).padStart(8)}  ${f(r.p50, 2).padStart(6)}  ${f(r.p99, 2).padStart(6)}  ${String(r.non2xx + r.errors).padStart(7)}  ${f(r.envoyUsPerReq, 1).padStart(12)}  ${r.authzUsPerReq ? f(r.authzUsPerReq, 1).padStart(11) : '          -'}`);
  }
  console.log(`ratio ext-authz / jwt_authn throughput: ${f(t.extauthz.rps / t.jwt.rps, 3)}   (target >= 0.60)`);
  console.log(`ratio no-op grpc-js / jwt_authn:        ${f(t.noop.rps / t.jwt.rps, 3)}   (ceiling of any grpc-js ext-authz here)`);
  console.log(`ratio ext-authz / no-op grpc-js:        ${f(t.extauthz.rps / t.noop.rps, 3)}`);

  console.log(`\n## Latency at a fixed ${RATE} req/s, ${SECONDS} s per setup in ${ROUNDS} interleaved rounds (open loop)`);
  console.log('setup      sent    ok      p50 ms  p90 ms  p99 ms  max ms');
  for (const s of SETUPS) console.log(`${s.padEnd(9)} ${String(l[s].sent).padStart(6)}  ${String(l[s].ok).padStart(6)}  ${f(l[s].p50, 3).padStart(6)}  ${f(l[s].p90, 3).padStart(6)}  ${f(l[s].p99, 3).padStart(6)}  ${f(l[s].max, 3).padStart(6)}`);
  console.log(`added p50 ext-authz over bare: ${f(l.extauthz.p50 - l.bare.p50, 3)} ms`);
  console.log(`added p99 ext-authz over bare: ${f(l.extauthz.p99 - l.bare.p99, 3)} ms   (target <= 1 ms)`);
  console.log(`added p99 jwt_authn over bare: ${f(l.jwt.p99 - l.bare.p99, 3)} ms`);
  console.log(`added p99 no-op grpc-js over bare: ${f(l.noop.p99 - l.bare.p99, 3)} ms   (the floor of the gRPC hop)`);

  console.log('\n## In-process decision, one core (cached token + compiled policy)');
  console.log(`policy evaluate only:             ${f(p.evaluatePerS)} /s`);
  console.log(`Authorizer.check (cache hit):     ${f(p.decisionPerS)} /s   (target >= 500,000)`);
  console.log(`handler path minus gRPC:          ${f(p.checkPathPerS)} /s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
