/**
 * Just-in-time approval benchmark through real Envoy:
 *   1. release latency — from the approve call to the upstream hit — over N approvals, with one
 *      replica (in-process store) and across replicas sharing Redis: replica A sits behind Envoy
 *      and holds every request, every vote goes to replica B, so each release crosses Redis
 *      pub/sub (the e2e tests cover two replicas behind one Envoy cluster);
 *   2. 1,000 requests paused at once: ext-authz CPU while they wait, then every one released.
 *
 *   npm run bench:approvals            (BENCH_APPROVALS=100, BENCH_PAUSED=1000)
 *
 * Needs Redis at SLUICE_TEST_REDIS_URL (default redis://127.0.0.1:6379). Not a test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { DevIssuer } from '../dev/dev-issuer.ts';
import { DemoUpstream } from '../dev/demo-upstream.ts';
import { startGatewayEnvoy } from './lib/gateway-envoy.ts';
import { startEnvoy } from '../common/envoy-process.ts';
import { freePort } from '../common/free-port.ts';
import { startExtAuthzProcess } from './lib/ext-authz-process.ts';
import { startExtProcService } from '../ext-proc/service.ts';
import { parseConfig } from '../common/config.ts';
import { silentLogger } from '../common/logger.ts';
import { cpuMs } from './lib/proc-cpu.ts';

const APPROVALS = Number(process.env.BENCH_APPROVALS ?? 100);
const PAUSED = Number(process.env.BENCH_PAUSED ?? 1000);
const REDIS_URL = process.env.SLUICE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const POLICIES = fileURLToPath(new URL('./policies/', import.meta.url));

interface Stack {
  gateway: string;
  approvalsUrls: string[];
  authzPids: number[];
  upstream: DemoUpstream;
  stop(): Promise<void>;
}

/** `replicas` ext-authz processes; only the first is in Envoy's cluster, the rest serve votes. */
async function startStack(issuer: DevIssuer, replicas: number, store: 'memory' | 'redis'): Promise<Stack> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-approvals-'));
  const upstream = await DemoUpstream.start(0, PAUSED * 2);
  const keyPrefix = `sluice-bench-${randomUUID()}:`;
  const authz: { pid: number; stop(): Promise<void> }[] = [];
  const approvalsUrls: string[] = [];
  const ports: number[] = [];
  for (let i = 0; i < replicas; i++) {
    const port = await freePort();
    const approvalsPort = await freePort();
    authz.push(await startExtAuthzProcess({
      dir, port, policyDir: POLICIES,
      issuers: [{ name: 'dev', issuer: issuer.url, audiences: ['sluice'] }],
      approvals: { port: approvalsPort, store, redisUrl: REDIS_URL, redisKeyPrefix: keyPrefix },
    }));
    ports.push(port);
    approvalsUrls.push(`http://127.0.0.1:${approvalsPort}`);
  }
  // No credentials configured: ext-proc only strips caller credentials here.
  const proc = await startExtProcService(parseConfig('{}', path.join(dir, 'sluice.yaml')), { logger: silentLogger(), port: 0 });
  const envoy = await startGatewayEnvoy({
    dir, policyDir: POLICIES, extAuthzPort: ports[0]!, extProcPort: proc.port,
    targets: [{ name: 'ops-api', prefix: '/ops/', port: upstream.address.port }, { name: 'plain-api', prefix: '/plain/', port: upstream.address.port }, { name: 'demo-api', prefix: '/', port: upstream.address.port }],
  });
  return {
    gateway: `http://127.0.0.1:${envoy.listeners.http}`,
    approvalsUrls,
    authzPids: authz.map((a) => a.pid),
    upstream,
    stop: async () => {
      await envoy.stop();
      for (const a of authz) await a.stop();
      await proc.close();
      await upstream.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: PAUSED + 10 });

function post(url: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-length': 2 } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end('{}');
  });
}

async function api(base: string, token: string, method: string, p: string, body?: object): Promise<any> {
  const res = await fetch(`${base}${p}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function pendingPaths(stack: Stack, sam: string): Promise<Map<string, string>> {
  const body = await api(stack.approvalsUrls[0]!, sam, 'GET', '/approvals?status=pending&limit=1000');
  const list = (body.approvals ?? body) as { id: string; path: string }[];
  return new Map(list.map((a) => [a.path, a.id]));
}

/**
 * The first WARMUP rounds are not counted: they include each replica's first JWKS fetch and
 * token verification, which is identity cost, not release latency. They are printed apart.
 */
const WARMUP = 3;

async function releaseLatency(stack: Stack, alice: string, sam: string, crossReplica: boolean): Promise<{ warmup: number[]; measured: number[] }> {
  const latencies: number[] = [];
  for (let i = 0; i < APPROVALS + WARMUP; i++) {
    const p = `/ops/deploy/r-${randomUUID()}`;
    const done = post(`${stack.gateway}${p}`, alice);
    let id: string | undefined;
    while (!id) {
      id = (await pendingPaths(stack, sam)).get(p);
      if (!id) await sleep(5);
    }
    // Replica 0 holds every request (it alone is behind Envoy); crossing means voting through 1.
    const via = crossReplica ? stack.approvalsUrls[1]! : stack.approvalsUrls[0]!;
    const t0 = performance.now();
    await api(via, sam, 'POST', `/approvals/${id}/approve`, {});
    const status = await done;
    if (status !== 200) throw new Error(`released request got ${status}`);
    const hit = stack.upstream.seen.find((r) => r.path === p);
    if (!hit) throw new Error('approved request never reached the upstream');
    latencies.push(hit.at - t0);
  }
  return { warmup: latencies.slice(0, WARMUP), measured: latencies.slice(WARMUP) };
}

async function pausedThousand(stack: Stack, alice: string, sam: string) {
  const paths = Array.from({ length: PAUSED }, (_, i) => `/ops/deploy/p-${i}-${randomUUID()}`);
  const results = paths.map((p) => post(`${stack.gateway}${p}`, alice));
  let pending = new Map<string, string>();
  const deadline = Date.now() + 20_000;
  while (pending.size < PAUSED && Date.now() < deadline) {
    await sleep(200);
    pending = await pendingPaths(stack, sam);
  }
  if (pending.size < PAUSED) throw new Error(`only ${pending.size} of ${PAUSED} requests are pending`);
  const pid = stack.authzPids[0]!;
  const before = cpuMs(pid);
  const windowMs = 5000;
  await sleep(windowMs);
  const cpuPercent = ((cpuMs(pid) - before) / windowMs) * 100;
  const t0 = performance.now();
  const ids = paths.map((p) => pending.get(p)!);
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(ids.slice(i, i + 50).map((id) => api(stack.approvalsUrls[0]!, sam, 'POST', `/approvals/${id}/approve`, {})));
  }
  const statuses = await Promise.all(results);
  const releaseAllMs = performance.now() - t0;
  const ok = statuses.filter((s) => s === 200).length;
  const hits = new Set(stack.upstream.seen.map((r) => r.path));
  const reached = paths.filter((p) => hits.has(p)).length;
  return { cpuPercent, ok, reached, releaseAllMs };
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const issuer = await DevIssuer.start();
  const alice = await issuer.mint({ sub: 'alice', groups: ['engineering'], ttlSeconds: 7200 });
  const sam = await issuer.mint({ sub: 'sam', groups: ['sre'], ttlSeconds: 7200 });
  console.log(`# Sluice approvals bench — ${new Date().toISOString()}, ${APPROVALS} approvals per setup, ${PAUSED} paused at once`);
  try {
    const single = await startStack(issuer, 1, 'memory');
    let one: { warmup: number[]; measured: number[] };
    let paused;
    try {
      one = await releaseLatency(single, alice, sam, false);
      paused = await pausedThousand(single, alice, sam);
    } finally {
      await single.stop();
    }
    const pair = await startStack(issuer, 2, 'redis');
    let two: { warmup: number[]; measured: number[] };
    try {
      two = await releaseLatency(pair, alice, sam, true);
    } finally {
      await pair.stop();
    }
    const f = (n: number) => n.toFixed(1);
    console.log('\n## Release latency: approve call sent -> upstream hit (ms)');
    console.log(`setup                          n     p50    p99    max    (target p99 <= 50)   first ${WARMUP} (cold, not counted)`);
    for (const [name, r] of [['one replica, in-process', one], ['across replicas, Redis', two]] as const) {
      const m = r.measured;
      console.log(`${name.padEnd(27)} ${String(m.length).padStart(4)}  ${f(pct(m, 50)).padStart(6)} ${f(pct(m, 99)).padStart(6)} ${f(Math.max(...m)).padStart(6)}                         ${r.warmup.map(f).join(', ')}`);
    }
    console.log(`\n## ${PAUSED} requests paused at once (one replica)`);
    console.log(`ext-authz CPU while they wait: ${paused.cpuPercent.toFixed(2)} % of a core over 5 s   (target < 5 %)`);
    console.log(`released with 200: ${paused.ok}/${PAUSED}; reached the upstream: ${paused.reached}/${PAUSED}; all approved and released in ${(paused.releaseAllMs / 1000).toFixed(2)} s`);
  } finally {
    agent.destroy();
    await issuer.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
