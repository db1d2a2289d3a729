/**
 * What does Sluice cost a Redis workload? `redis-benchmark -t get,set -P 16 -c 32` against one
 * throwaway redis-server (its own port; the shared 6379 is left alone), in alternating rounds:
 *   direct       redis-benchmark → redis-server
 *   redis_proxy  → a plain Envoy redis_proxy (no auth) → redis-server (the floor for any Envoy path)
 *   +faults, +acl, +extauth   the plain redis_proxy with one of Sluice's differences each: the deny
 *                list as faults, the upstream ACL user, external auth (bench/lib/redis-baseline-envoy.ts)
 *   +all         all three in that same Envoy: Sluice's listener without Sluice's Envoy process
 *   sluice       → `sluice gateway`: redis_proxy with external auth (AUTH <token> per connection,
 *                  expiry on), the deny list, the upstream ACL user (a policy that allows "*": no
 *                  per-command checks)
 *   echo, echo-read   the plain redis_proxy behind a network ext_proc whose processor only echoes
 *                bytes (both directions; client bytes only): the floor of any processor in front
 *   checked      the same target kind with a per-command policy (GET/SET on key:* only): Sluice's
 *                network ext_proc parses, checks and records every command in front of redis_proxy
 *                (recording: commands, the default: it reads client bytes only; floor echo-read)
 *   +replies     the same with recording: commands+replies: it reads every reply too (floor echo)
 * Both Envoys run with --concurrency 1. Prints requests/s per test (median of rounds), ratios to
 * redis_proxy and, for the processor paths, to the echo floor of the same shape. A ratio is the
 * median of each round's own ratio (the two paths measured in the same round, seconds apart), with
 * the rounds' lowest and highest, and every other round runs the paths in reverse order, so a
 * machine that slows down during a round does not favour the paths run first.
 *   npm run bench:redis    (BENCH_REQUESTS=200000 per run, BENCH_ROUNDS=3; BENCH_PATHS=checked,echo-read
 *                          runs only those paths, redis_proxy always among them for the ratios)
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DevIssuer } from '../dev/dev-issuer.ts';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startEnvoy } from '../common/envoy-process.ts';
import { EXT_PROC_ENV, EXT_PROC_NODE_FLAGS } from '../gateway/ext-proc-runtime.ts';
import { freePort } from '../common/free-port.ts';
import { startRedisServer } from '../test/harness/redis-server.ts';
import { waitForListeners } from './lib/ports.ts';
import { gatewayChildPid, startGatewayChild, stopGatewayChild } from './lib/gateway-child.ts';
import { redisBaselineEnvoyConfig } from './lib/redis-baseline-envoy.ts';
import { measureCpu } from './lib/proc-cpu.ts';
import { runCommand } from './lib/run-command.ts';
import { median } from './lib/stats.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ONLY = process.env.BENCH_PATHS ? new Set(['redis_proxy', ...process.env.BENCH_PATHS.split(',').map((p) => p.trim())]) : null;
const GW_PASSWORD = 'bench-gateway-password-4c1d';
const ECHO_PROC = fileURLToPath(new URL('./lib/echo-network-proc-server.ts', import.meta.url));

const POLICY = `
policies:
  - name: bench-fast
    targets: [fast]
    subjects: [{ issuer: dev, groups: [bench] }]
    redis: {}
    rules:
      - { name: all, effect: allow, commands: ["*"] }
  - name: bench-checked
    targets: [checked, replied]
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

interface Mode {
  name: string;
  port: number;
  password?: string;
  /** The echo floor of the same Envoy shape, for the processor paths. */
  floor?: string;
  /** The Envoy and the network processor (if any) this path runs through, for CPU per request. */
  envoy?: number;
  processor?: number;
}

interface Run { rates: Rates; envoyUs: number; processorUs: number }

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-redis-'));
  // The default user (no password) for direct and plain; the gateway logs in as its own ACL user.
  const server = await startRedisServer({ users: [`user sluice-gw on >${GW_PASSWORD} ~* &* +@all -@dangerous -select -client`] });
  let gateway: ChildProcess | undefined;
  let echo: ChildProcess | undefined;
  let baseline: Awaited<ReturnType<typeof startEnvoy>> | undefined;
  const issuer = await DevIssuer.start();
  try {
    const token = await issuer.mint({ sub: 'bench', groups: ['bench'], ttlSeconds: 7200 });
    const ports = {
      fast: await freePort(), checked: await freePort(), replied: await freePort(), http: await freePort(), authz: await freePort(), proc: await freePort(), admin: await freePort(), envoyAdmin: await freePort(),
      plain: await freePort(), faults: await freePort(), acl: await freePort(), extauth: await freePort(), all: await freePort(), echo: await freePort(), echoRead: await freePort(), echoProc: await freePort(),
    };
    mkdirSync(path.join(dir, 'policies'));
    writeFileSync(path.join(dir, 'policies', 'bench.yaml'), POLICY);
    writeFileSync(path.join(dir, 'secrets.yaml'), `secrets:\n  bench-redis: ${JSON.stringify(GW_PASSWORD)}\n`);
    writeFileSync(path.join(dir, 'sluice.yaml'), JSON.stringify({
      targets: [
        { name: 'fast', protocol: 'redis', endpoints: [`127.0.0.1:${server.port}`], redis: { port: ports.fast } },
        { name: 'checked', protocol: 'redis', endpoints: [`127.0.0.1:${server.port}`], redis: { port: ports.checked } },
        { name: 'replied', protocol: 'redis', endpoints: [`127.0.0.1:${server.port}`], redis: { port: ports.replied, recording: 'commands+replies' } },
      ],
      issuers: [{ name: 'dev', issuer: issuer.url, audiences: ['sluice'] }],
      extAuthz: { port: ports.authz, policyDir: 'policies' },
      envoy: { listenPort: ports.http, adminPort: ports.envoyAdmin, xdsDir: 'envoy' },
      admin: { port: ports.admin },
      extProc: {
        port: ports.proc,
        secretsFile: 'secrets.yaml',
        credentials: ['fast', 'checked', 'replied'].map((target) => ({ target, secret: 'bench-redis', redis: { user: 'sluice-gw' } })),
        sessions: { store: 'file', dir: 'sessions' },
      },
      log: { level: 'warn' },
    }));
    gateway = startGatewayChild(path.join(dir, 'sluice.yaml'));
    echo = spawn(process.execPath, [...EXT_PROC_NODE_FLAGS, '--import', 'tsx', ECHO_PROC, String(ports.echoProc)], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...EXT_PROC_ENV } });
    baseline = await startEnvoy({ concurrency: 1, config: redisBaselineEnvoyConfig(ports, { redisPort: server.port, aclUser: 'sluice-gw', aclPassword: GW_PASSWORD, authTarget: 'fast' }) });
    await waitForListeners({ 'baseline envoy': ports.plain, 'echo processor': ports.echoProc, 'sluice fast': ports.fast, 'sluice checked': ports.checked, 'sluice replied': ports.replied }, 60_000);
    await sleep(500);
    const pids = { envoy: await gatewayChildPid(gateway.pid!, 'envoy'), extProc: await gatewayChildPid(gateway.pid!, 'ext-proc'), baseline: baseline.pid, echo: echo.pid! };

    const allModes: Mode[] = [
      { name: 'direct', port: server.port },
      { name: 'redis_proxy', port: ports.plain, envoy: pids.baseline },
      { name: '+faults', port: ports.faults, envoy: pids.baseline },
      { name: '+acl', port: ports.acl, envoy: pids.baseline },
      { name: '+extauth', port: ports.extauth, password: token, envoy: pids.baseline },
      { name: '+all', port: ports.all, password: token, envoy: pids.baseline },
      { name: 'sluice', port: ports.fast, password: token, envoy: pids.envoy },
      { name: 'echo', port: ports.echo, envoy: pids.baseline, processor: pids.echo },
      { name: 'echo-read', port: ports.echoRead, envoy: pids.baseline, processor: pids.echo },
      { name: 'checked', port: ports.checked, password: token, floor: 'echo-read', envoy: pids.envoy, processor: pids.extProc },
      { name: '+replies', port: ports.replied, password: token, floor: 'echo', envoy: pids.envoy, processor: pids.extProc },
    ];
    const modes = allModes.filter((m) => ONLY === null || ONLY.has(m.name) || allModes.some((x) => ONLY.has(x.name) && x.floor === m.name));
    const unknown = [...(ONLY ?? [])].filter((name) => !allModes.some((m) => m.name === name));
    if (unknown.length > 0) throw new Error(`BENCH_PATHS names no such path: ${unknown.join(', ')} (paths: ${allModes.map((m) => m.name).join(', ')})`);
    const run = async (m: Mode): Promise<Run> => {
      const watched = { ...(m.envoy ? { envoy: m.envoy } : {}), ...(m.processor ? { processor: m.processor } : {}) };
      const { result, cpuMs } = await measureCpu(watched, () => benchmark(m.port, m.password));
      // Both tests (SET, GET) ran REQUESTS each.
      const perRequest = (ms: number) => (ms * 1000) / (2 * REQUESTS);
      return { rates: result, envoyUs: m.envoy ? perRequest(cpuMs.envoy!) : NaN, processorUs: m.processor ? perRequest(cpuMs.processor!) : NaN };
    };
    for (const m of modes) await benchmark(m.port, m.password, 20_000).catch((err) => { throw new Error(`${m.name}: ${err.message}`); });

    console.log(`\nredis-benchmark -t get,set -P 16 -c 32 -n ${REQUESTS}, ${ROUNDS} alternating rounds (median shown), both Envoys --concurrency 1`);
    const results = new Map<string, Run[]>(modes.map((m) => [m.name, []]));
    try {
      for (let round = 0; round < ROUNDS; round++) {
        for (const m of round % 2 === 0 ? modes : [...modes].reverse()) results.get(m.name)!.push(await run(m));
      }
    } catch (err) {
      // What Envoy saw on the Sluice listeners when a run failed (timeouts, closed streams).
      const stats = await (await fetch(`http://127.0.0.1:${ports.envoyAdmin}/stats`)).text().catch(() => '');
      console.error(stats.split('\n').filter((l) => /ext_proc|redis_(fast|checked|replied)\.(downstream|upstream|command)|auth/.test(l) && !/: 0$/.test(l)).slice(0, 60).join('\n'));
      throw err;
    }
    const med = (name: string, test: keyof Rates) => median(results.get(name)!.map((r) => r.rates[test]));
    const ratio = (name: string, to: string, test: keyof Rates) => {
      const base = results.get(to)!;
      const perRound = results.get(name)!.map((r, i) => r.rates[test] / base[i]!.rates[test]);
      const range = ROUNDS > 1 ? ` ${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)}` : '';
      return `×${median(perRound).toFixed(3)}${range}`;
    };
    console.log('  path          SET req/s   GET req/s   SET / redis_proxy   GET / redis_proxy   SET / echo          GET / echo          (all rounds, SET)');
    for (const m of modes) {
      const all = results.get(m.name)!.map((r) => r.rates.SET.toFixed(0)).join(' ');
      const floor = m.floor ? `${ratio(m.name, m.floor, 'SET').padEnd(19)} ${ratio(m.name, m.floor, 'GET').padEnd(19)}` : ' '.repeat(39);
      console.log(`  ${m.name.padEnd(12)} ${med(m.name, 'SET').toFixed(0).padStart(10)} ${med(m.name, 'GET').toFixed(0).padStart(11)}   ${ratio(m.name, 'redis_proxy', 'SET').padEnd(18)}  ${ratio(m.name, 'redis_proxy', 'GET').padEnd(18)}  ${floor} ${all}`);
    }
    // Where the time goes: CPU each process spent per request (SET and GET together), medians.
    console.log('\n  CPU per request (µs, median of rounds)   Envoy   processor (ext-proc or echo)');
    for (const m of modes.filter((x) => x.envoy)) {
      const us = (pick: (r: Run) => number) => median(results.get(m.name)!.map(pick));
      console.log(`  ${m.name.padEnd(40)} ${us((r) => r.envoyUs).toFixed(2).padStart(5)}   ${m.processor ? us((r) => r.processorUs).toFixed(2).padStart(5) : ''}`);
    }
  } finally {
    await stopGatewayChild(gateway);
    echo?.kill('SIGTERM');
    await baseline?.stop();
    await issuer.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
