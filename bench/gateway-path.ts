/**
 * Does the generated Envoy config slow the data path? The same ext-authz and ext-proc processes
 * and the same upstream behind two Envoys (one worker each): one on the hand-written template the
 * gateway used before (bench/envoy-template-baseline.yaml, the old envoy/gateway.yaml), one on the
 * config Sluice now generates from sluice.yaml. Throughput in alternating rounds and open-loop
 * latency at a fixed rate in interleaved rounds; prints generated / template ratios.
 *   npm run bench:gateway-path            (BENCH_SECONDS=5 per throughput round by default)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { DevIssuer } from '../dev/dev-issuer.ts';
import { startEnvoy } from '../common/envoy-process.ts';
import { freePort } from '../common/free-port.ts';
import { startExtAuthzProcess } from './lib/ext-authz-process.ts';
import { startJsonUpstream } from './lib/json-upstream.ts';
import { startGatewayEnvoy } from './lib/gateway-envoy.ts';
import { renderTemplate } from './lib/render-template.ts';
import { throughput, type ThroughputResult } from './lib/throughput.ts';
import { interleavedFixedRate } from './lib/fixed-rate.ts';
import { waitForListeners } from './lib/ports.ts';

const POLICIES = fileURLToPath(new URL('./policies/', import.meta.url));
const TEMPLATE = fileURLToPath(new URL('./envoy-template-baseline.yaml', import.meta.url));
const CLI = fileURLToPath(new URL('../cli/sluice.ts', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 32;
const TARGETS = ['demo-api', 'ops-api', 'plain-api'];

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-gateway-'));
  const issuer = await DevIssuer.start();
  const token = await issuer.mint({ sub: 'alice', groups: ['engineering'], ttlSeconds: 7200 });
  const upstream = await startJsonUpstream();
  const extProcPort = await freePort();
  const extProc = { port: extProcPort, sessions: { store: 'off' } };
  const authzPort = await freePort();
  const authz = await startExtAuthzProcess({
    dir, port: authzPort, policyDir: POLICIES,
    issuers: [{ name: 'dev', issuer: issuer.url, audiences: ['sluice'] }], approvals: { port: await freePort() },
    extra: { extProc },
  });
  const procConfig = path.join(dir, 'ext-proc.yaml');
  writeFileSync(procConfig, JSON.stringify({ targets: TARGETS.map((name) => ({ name, endpoints: [`127.0.0.1:${upstream.port}`], http: { pathPrefix: `/${name}/` } })), extProc, log: { level: 'warn' } }));
  const proc: ChildProcess = spawn(process.execPath, ['--max-semi-space-size=2', '--import', 'tsx', CLI, 'ext-proc', '--config', procConfig], {
    stdio: 'inherit', env: { ...process.env, MALLOC_ARENA_MAX: '2' },
  });
  await waitForListeners({ 'ext-proc': extProcPort });

  const templatePort = await freePort();
  const template = await startEnvoy({
    concurrency: 1,
    config: renderTemplate(readFileSync(TEMPLATE, 'utf8'), {
      ADMIN_ADDRESS: '127.0.0.1', ADMIN_PORT: 0, LISTEN_ADDRESS: '127.0.0.1', LISTEN_PORT: templatePort,
      EXT_AUTHZ_ENDPOINTS: `[{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${authzPort} } } } }]`,
      EXT_PROC_ENDPOINTS: `[{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${extProcPort} } } } }]`,
      EXT_AUTHZ_TIMEOUT: '1s', EXT_PROC_TIMEOUT: '300s', EXT_PROC_MESSAGE_TIMEOUT: '1s', APPROVAL_TIMEOUT: '30s', APPROVAL_MAX_HOLD_MS: 29000,
      ROUTE_TIMEOUT: '0s', ROUTE_IDLE_TIMEOUT: '300s', UPSTREAM_HOST: '127.0.0.1', UPSTREAM_PORT: upstream.port,
    }, TEMPLATE),
  });
  const generated = await startGatewayEnvoy({
    dir, policyDir: POLICIES, extAuthzPort: authzPort, extProcPort,
    targets: [{ name: 'ops-api', prefix: '/ops/', port: upstream.port }, { name: 'plain-api', prefix: '/plain/', port: upstream.port }, { name: 'demo-api', prefix: '/', port: upstream.port }],
  });
  const urls = { template: `http://127.0.0.1:${templatePort}/small`, generated: `http://127.0.0.1:${generated.listeners.http}/small` };
  const headers = { authorization: `Bearer ${token}` };
  try {
    for (const [name, url] of Object.entries(urls)) {
      for (let i = 0; (await fetch(url, { headers }).then((r) => r.status, () => 0)) !== 200; i++) {
        if (i > 100) throw new Error(`${name}: never answered 200`);
        await sleep(100);
      }
    }
    console.log(`# Gateway data path: hand-written template vs generated config — ${new Date().toISOString()}`);
    console.log(`# GET /small (~1 KB JSON) through ext_authz + ext_proc + router; Envoy --concurrency 1 each; one ext-authz and one ext-proc process shared`);
    const runs: Record<string, ThroughputResult[]> = { template: [], generated: [] };
    for (const name of Object.keys(urls)) await throughput(urls[name as keyof typeof urls], { durationS: 2, connections: CONNECTIONS, headers }); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['template', 'generated'] : ['generated', 'template'];
      for (const name of order) runs[name]!.push(await throughput(urls[name as keyof typeof urls], { durationS: SECONDS, connections: CONNECTIONS, headers }));
    }
    const rps = (name: string) => runs[name]!.reduce((sum, r) => sum + r.rps, 0) / runs[name]!.length;
    const failures = (name: string) => runs[name]!.reduce((sum, r) => sum + r.non2xx + r.errors, 0);
    const latency = await interleavedFixedRate(urls, { rate: 300, durationMs: 12_000, rounds: 6, headers });
    const row = (name: string) => `${name.padEnd(10)}${rps(name).toFixed(0).padStart(10)}${String(failures(name)).padStart(10)}${latency[name]!.p50.toFixed(3).padStart(10)}${latency[name]!.p99.toFixed(3).padStart(10)}${String(latency[name]!.failed).padStart(8)}`;
    console.log(`${'setup'.padEnd(10)}${'req/s'.padStart(10)}${'non-2xx'.padStart(10)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'failed'.padStart(8)}`);
    console.log(row('template'));
    console.log(row('generated'));
    console.log(`ratio generated/template: throughput ${(rps('generated') / rps('template')).toFixed(3)}, p50 ${(latency.generated!.p50 / latency.template!.p50).toFixed(3)}, p99 ${(latency.generated!.p99 / latency.template!.p99).toFixed(3)} (throughput rounds ${runs.template!.map((r) => r.rps.toFixed(0)).join('/')} vs ${runs.generated!.map((r) => r.rps.toFixed(0)).join('/')})`);
  } finally {
    await template.stop();
    await generated.stop();
    proc.kill('SIGTERM');
    await authz.stop();
    await upstream.close();
    await issuer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
