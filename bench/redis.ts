/**
 * What does Sluice cost a Redis workload? `redis-benchmark -t get,set -P 16 -c 32` against one
 * throwaway redis-server (its own port; the shared 6379 is left alone), four ways, in alternating
 * rounds:
 *   direct       redis-benchmark → redis-server
 *   redis_proxy  → a plain Envoy redis_proxy (no auth) → redis-server (the floor for any Envoy path)
 *   sluice       → `sluice gateway`: redis_proxy with external auth (AUTH <token> per connection,
 *                  expiry on), the deny list, the upstream ACL user (a policy that allows "*": no
 *                  per-command checks)
 *   checked      the same target kind with a per-command policy (GET/SET on key:* only): Sluice's
 *                network ext_proc parses, checks and records every command in front of redis_proxy
 * Both Envoys run with --concurrency 1. Prints requests/s per test, ratios to redis_proxy.
 *   npm run bench:redis    (BENCH_REQUESTS=200000 per run, BENCH_ROUNDS=3)
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DevIssuer } from '../dev/dev-issuer.ts';
import { startEnvoy } from '../common/envoy-process.ts';
import { freePort } from '../common/free-port.ts';
import { startRedisServer } from '../test/harness/redis-server.ts';
import { waitForListeners } from './lib/ports.ts';
import { startGatewayChild, stopGatewayChild } from './lib/gateway-child.ts';
import { runCommand } from './lib/run-command.ts';
import { median } from './lib/stats.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const GW_PASSWORD = 'bench-gateway-password-4c1d';

const POLICY = `
policies:
  - name: bench-fast
    targets: [fast]
    subjects: [{ issuer: dev, groups: [bench] }]
    redis: {}
    rules:
      - { name: all, effect: allow, commands: ["*"] }
  - name: bench-checked
    targets: [checked]
    subjects: [{ issuer: dev, groups: [bench] }]
    redis: {}
    rules:
      - { name: keys, effect: allow, commands: [GET, SET], keys: ["key:*"] }
`;

type Rates = Record<'SET' | 'GET', number>;

async function benchmark(port: number, password: string | undefined, requests = REQUESTS): Promise<Rates> {
  const out = await runCommand('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), ...(password ? ['-a', password] : []), '-t', 'get,set', '-P', '16', '-c', '32', '-n', String(requests), '--csv']);
  const rate = (test: string) => Number(new RegExp(`"${test}","([0-9.]+)"`).exec(out)?.[1]);
  const rates = { SET: rate('SET'), GET: rate('GET') };
  if (!Number.isFinite(rates.SET) || !Number.isFinite(rates.GET) || rates.SET === 0) throw new Error(`unreadable redis-benchmark output:\n${out}`);
  if (/ERR|NOPERM|NOAUTH/.test(out)) throw new Error(`redis-benchmark saw errors:\n${out.slice(0, 2000)}`);
  return rates;
}

function plainRedisProxy(listenPort: number, redisPort: number): string {
  return `
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }
static_resources:
  listeners:
    - name: redis
      address: { socket_address: { address: 127.0.0.1, port_value: ${listenPort} } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.redis_proxy
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy
                stat_prefix: redis
                settings: { op_timeout: 5s }
                prefix_routes: { catch_all_route: { cluster: redis } }
  clusters:
    - name: redis
      connect_timeout: 1s
      type: STATIC
      load_assignment:
        cluster_name: redis
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${redisPort} } } } }] }]
`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-redis-'));
  // The default user (no password) for direct and plain; the gateway logs in as its own ACL user.
  const server = await startRedisServer({ users: [`user sluice-gw on >${GW_PASSWORD} ~* &* +@all -@dangerous -select -client`] });
  let gateway: ChildProcess | undefined;
  let plain: Awaited<ReturnType<typeof startEnvoy>> | undefined;
  const issuer = await DevIssuer.start();
  try {
    const token = await issuer.mint({ sub: 'bench', groups: ['bench'], ttlSeconds: 7200 });
    const ports = { fast: await freePort(), checked: await freePort(), plain: await freePort(), http: await freePort(), authz: await freePort(), proc: await freePort(), admin: await freePort(), envoyAdmin: await freePort() };
    mkdirSync(path.join(dir, 'policies'));
    writeFileSync(path.join(dir, 'policies', 'bench.yaml'), POLICY);
    writeFileSync(path.join(dir, 'secrets.yaml'), `secrets:\n  bench-redis: ${JSON.stringify(GW_PASSWORD)}\n`);
    writeFileSync(path.join(dir, 'sluice.yaml'), JSON.stringify({
      targets: [
        { name: 'fast', protocol: 'redis', endpoints: [`127.0.0.1:${server.port}`], redis: { port: ports.fast } },
        { name: 'checked', protocol: 'redis', endpoints: [`127.0.0.1:${server.port}`], redis: { port: ports.checked } },
      ],
      issuers: [{ name: 'dev', issuer: issuer.url, audiences: ['sluice'] }],
      extAuthz: { port: ports.authz, policyDir: 'policies' },
      envoy: { listenPort: ports.http, adminPort: ports.envoyAdmin, xdsDir: 'envoy' },
      admin: { port: ports.admin },
      extProc: {
        port: ports.proc,
        secretsFile: 'secrets.yaml',
        credentials: ['fast', 'checked'].map((target) => ({ target, secret: 'bench-redis', redis: { user: 'sluice-gw' } })),
        sessions: { store: 'file', dir: 'sessions' },
      },
      log: { level: 'warn' },
    }));
    gateway = startGatewayChild(path.join(dir, 'sluice.yaml'));
    plain = await startEnvoy({ concurrency: 1, config: plainRedisProxy(ports.plain, server.port) });
    await waitForListeners({ 'plain envoy': ports.plain, 'sluice fast': ports.fast, 'sluice checked': ports.checked }, 60_000);
    await sleep(500);

    const modes: { name: string; port: number; password?: string }[] = [
      { name: 'direct', port: server.port },
      { name: 'redis_proxy', port: ports.plain },
      { name: 'sluice', port: ports.fast, password: token },
      { name: 'checked', port: ports.checked, password: token },
    ];
    for (const m of modes) await benchmark(m.port, m.password, 20_000).catch((err) => { throw new Error(`${m.name}: ${err.message}`); });

    console.log(`\nredis-benchmark -t get,set -P 16 -c 32 -n ${REQUESTS}, ${ROUNDS} alternating rounds (median shown), both Envoys --concurrency 1`);
    const results = new Map<string, Rates[]>(modes.map((m) => [m.name, []]));
    try {
      for (let round = 0; round < ROUNDS; round++) for (const m of modes) results.get(m.name)!.push(await benchmark(m.port, m.password));
    } catch (err) {
      // What Envoy saw on the Sluice listeners when a run failed (timeouts, closed streams).
      const stats = await (await fetch(`http://127.0.0.1:${ports.envoyAdmin}/stats`)).text().catch(() => '');
      console.error(stats.split('\n').filter((l) => /ext_proc|redis_(fast|checked)\.(downstream|upstream|command)|auth/.test(l) && !/: 0$/.test(l)).slice(0, 60).join('\n'));
      throw err;
    }
    const med = (name: string, test: keyof Rates) => median(results.get(name)!.map((r) => r[test]));
    console.log('  path          SET req/s   GET req/s   SET / redis_proxy   GET / redis_proxy   (all rounds, SET)');
    for (const m of modes) {
      const set = med(m.name, 'SET');
      const get = med(m.name, 'GET');
      const all = results.get(m.name)!.map((r) => r.SET.toFixed(0)).join(' ');
      console.log(`  ${m.name.padEnd(12)} ${set.toFixed(0).padStart(10)} ${get.toFixed(0).padStart(11)}   ×${(set / med('redis_proxy', 'SET')).toFixed(3).padEnd(18)} ×${(get / med('redis_proxy', 'GET')).toFixed(3).padEnd(18)} ${all}`);
    }
  } finally {
    await stopGatewayChild(gateway);
    await plain?.stop();
    await issuer.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
