/**
 * What does Sluice cost a PostgreSQL workload? pgbench -S (select-only) with 1 and 8 clients
 * against the same throwaway server (scram-sha-256), five ways, in alternating rounds:
 *   direct     pgbench → PostgreSQL
 *   tcp_proxy  pgbench → a plain Envoy tcp_proxy → PostgreSQL (the floor for any Envoy path)
 *   echo       pgbench → Envoy network ext_proc → a grpc-js processor that echoes every chunk →
 *              tcp_proxy (the floor of Sluice's shape: the same filter and gRPC, no session work)
 *   sluice     pgbench → `sluice gateway` (Envoy network ext_proc → ext-proc → tcp_proxy), token
 *              as the password, every statement checked by policy and recorded, no masking
 *   masked     the same with a masking profile on the target (every row inspected)
 * Prints TPS, average latency per transaction (one round trip each), ratios to tcp_proxy and the
 * latency Sluice adds per round trip, and the same against echo. Then a masked COPY OUT of BENCH_COPY_MB (default 1024) MB
 * through the masked target while ext-proc's RSS is sampled.
 *   npm run bench:postgres      (BENCH_SECONDS=8 per round, BENCH_ROUNDS=2, BENCH_MODE=simple)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { DevIssuer } from '../dev/dev-issuer.ts';
import { startEnvoy } from '../common/envoy-process.ts';
import { freePort } from '../common/free-port.ts';
import { startPostgresServer } from '../test/harness/postgres-server.ts';
import { waitForListeners } from './lib/ports.ts';
import { startGatewayChild, stopGatewayChild, gatewayChildPid } from './lib/gateway-child.ts';
import { runCommand } from './lib/run-command.ts';
import { median } from './lib/stats.ts';
import { rssMb } from './lib/proc-cpu.ts';
import { EXT_PROC_ENV, EXT_PROC_NODE_FLAGS } from '../gateway/ext-proc-runtime.ts';

const ECHO_PROC = fileURLToPath(new URL('./lib/echo-network-proc-server.ts', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const MODE = process.env.BENCH_MODE ?? 'simple';
const COPY_MB = Number(process.env.BENCH_COPY_MB ?? 1024);
/** `none`: only the COPY part. */
const CLIENTS = process.env.BENCH_CLIENTS === 'none' ? [] : (process.env.BENCH_CLIENTS ?? '1,8').split(',').map(Number);

const POLICY = `
policies:
  - name: bench
    targets: [pgdb, pgmask]
    subjects:
      - issuer: dev
        groups: [engineering]
    database:
      users: [bench]
      databases: [app]
    rules:
      - name: reads
        effect: allow
        statements: [read]
`;

interface Run { tps: number; latencyMs: number }

async function pgbench(port: number, password: string, clients: number): Promise<Run> {
  const out = await runCommand('pgbench', ['-h', '127.0.0.1', '-p', String(port), '-U', 'bench', '-n', '-S', '-M', MODE, '-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(SECONDS), 'app'], { PGPASSWORD: password, PGSSLMODE: 'disable' });
  const tps = Number(/tps = ([0-9.]+)/.exec(out)?.[1]);
  const latencyMs = Number(/latency average = ([0-9.]+) ms/.exec(out)?.[1]);
  if (!Number.isFinite(tps) || !Number.isFinite(latencyMs)) throw new Error(`unreadable pgbench output:\n${out}`);
  return { tps, latencyMs };
}

/**
 * The baselines' Envoy: `tcp` is plain tcp_proxy; `echo` is the same network ext_proc filter as
 * Sluice's listeners, in front of an echoing processor (bench/lib/echo-network-proc-server.ts):
 * the floor of the shape, before any session work. The server is read 64 KiB at a time, as
 * Sluice's generated clusters do.
 */
function baselineEnvoyConfig(ports: { tcp: number; echo: number; echoProc: number }, dbPort: number): string {
  return `
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }
static_resources:
  listeners:
    - name: tcp
      address: { socket_address: { address: 127.0.0.1, port_value: ${ports.tcp} } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.tcp_proxy
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                stat_prefix: tcp
                cluster: db
    - name: echo
      address: { socket_address: { address: 127.0.0.1, port_value: ${ports.echo} } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.ext_proc
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.ext_proc.v3.NetworkExternalProcessor
                grpc_service: { envoy_grpc: { cluster_name: echo_proc } }
                failure_mode_allow: false
                message_timeout: 2s
                stat_prefix: echo
            - name: envoy.filters.network.tcp_proxy
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                stat_prefix: echo
                cluster: db
  clusters:
    - name: db
      connect_timeout: 1s
      type: STATIC
      per_connection_buffer_limit_bytes: 65536
      load_assignment:
        cluster_name: db
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${dbPort} } } } }] }]
    - name: echo_proc
      connect_timeout: 1s
      type: STATIC
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config: { http2_protocol_options: {} }
      load_assignment:
        cluster_name: echo_proc
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${ports.echoProc} } } } }] }]
`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-pg-'));
  const db = await startPostgresServer({ auth: 'scram-sha-256', user: 'bench' });
  let gateway: ChildProcess | undefined;
  let echo: ChildProcess | undefined;
  let plain: Awaited<ReturnType<typeof startEnvoy>> | undefined;
  const issuer = await DevIssuer.start();
  try {
    process.stderr.write('# pgbench -i -s 1 …\n');
    await runCommand('pgbench', ['-h', db.host, '-p', String(db.port), '-U', 'bench', '-i', '-s', '1', '-q', 'app'], { PGPASSWORD: db.password });
    const token = await issuer.mint({ sub: 'alice', groups: ['engineering'], ttlSeconds: 7200 });

    const ports = { sluice: await freePort(), masked: await freePort(), tcp: await freePort(), http: await freePort(), authz: await freePort(), proc: await freePort(), admin: await freePort(), procAdmin: await freePort(), echo: await freePort(), echoProc: await freePort() };
    mkdirSync(path.join(dir, 'policies'));
    writeFileSync(path.join(dir, 'policies', 'bench.yaml'), POLICY);
    writeFileSync(path.join(dir, 'secrets.yaml'), `secrets:\n  bench-db: ${JSON.stringify(db.password)}\n`);
    writeFileSync(path.join(dir, 'sluice.yaml'), JSON.stringify({
      targets: [
        { name: 'pgdb', protocol: 'postgres', endpoints: [`127.0.0.1:${db.port}`], postgres: { port: ports.sluice } },
        { name: 'pgmask', protocol: 'postgres', endpoints: [`127.0.0.1:${db.port}`], postgres: { port: ports.masked } },
      ],
      issuers: [{ name: 'dev', issuer: issuer.url, audiences: ['sluice'] }],
      extAuthz: { port: ports.authz, policyDir: 'policies' },
      envoy: { listenPort: ports.http, adminPort: 0, xdsDir: 'envoy' },
      admin: { port: ports.admin },
      extProc: {
        port: ports.proc,
        adminPort: ports.procAdmin,
        secretsFile: 'secrets.yaml',
        credentials: [{ target: 'pgdb', secret: 'bench-db' }, { target: 'pgmask', secret: 'bench-db' }],
        masking: { profiles: [{ name: 'pii', recognizers: [{ use: 'card', strategy: 'keep-last-4' }, { use: 'email', strategy: 'redact' }] }], targets: { pgmask: 'pii' } },
        sessions: { store: 'file', dir: 'sessions' },
      },
      log: { level: 'warn' },
    }));
    gateway = startGatewayChild(path.join(dir, 'sluice.yaml'));
    echo = spawn(process.execPath, [...EXT_PROC_NODE_FLAGS, '--import', 'tsx', ECHO_PROC, String(ports.echoProc)], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...EXT_PROC_ENV } });
    plain = await startEnvoy({ concurrency: 1, config: baselineEnvoyConfig(ports, db.port) });
    await waitForListeners({ 'plain envoy': ports.tcp, 'echo envoy': ports.echo, 'echo processor': ports.echoProc, 'sluice pgdb': ports.sluice, 'sluice pgmask': ports.masked }, 60_000);
    await sleep(500);

    const modes: { name: string; port: number; password: string }[] = [
      { name: 'direct', port: db.port, password: db.password },
      { name: 'tcp_proxy', port: ports.tcp, password: db.password },
      { name: 'echo', port: ports.echo, password: db.password },
      { name: 'sluice', port: ports.sluice, password: token },
      { name: 'masked', port: ports.masked, password: token },
    ];
    // One short warm-up each (JIT, connection pools, the statement parser's first load).
    if (CLIENTS.length > 0) for (const m of modes) await pgbench(m.port, m.password, 1).catch((err) => { throw new Error(`${m.name}: ${err.message}`); });

    if (CLIENTS.length > 0) console.log(`\npgbench -S -M ${MODE}, ${SECONDS}s per run, ${ROUNDS} alternating rounds (median of rounds shown)`);
    for (const clients of CLIENTS) {
      const results = new Map<string, Run[]>(modes.map((m) => [m.name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const m of modes) results.get(m.name)!.push(await pgbench(m.port, m.password, clients));
      }
      const med = (name: string, key: keyof Run) => median(results.get(name)!.map((r) => r[key]));
      const base = { tps: med('tcp_proxy', 'tps'), latency: med('tcp_proxy', 'latencyMs') };
      const floor = { tps: med('echo', 'tps'), latency: med('echo', 'latencyMs') };
      console.log(`\n${clients} client${clients === 1 ? '' : 's'}:`);
      console.log('  path        TPS       latency ms   TPS / tcp_proxy   added ms (vs tcp_proxy)   TPS / echo   added ms (vs echo)');
      for (const m of modes) {
        const tps = med(m.name, 'tps');
        const lat = med(m.name, 'latencyMs');
        const vsEcho = m.name === 'sluice' || m.name === 'masked' ? `×${(tps / floor.tps).toFixed(3).padEnd(11)} ${(lat - floor.latency).toFixed(3)}` : '';
        console.log(`  ${m.name.padEnd(10)} ${tps.toFixed(0).padStart(7)}   ${lat.toFixed(3).padStart(9)}    ×${(tps / base.tps).toFixed(3).padEnd(14)}  ${(lat - base.latency).toFixed(3).padEnd(24)}  ${vsEcho}`);
      }
    }

    if (COPY_MB > 0) {
      const procPid = await gatewayChildPid(gateway.pid!, 'ext-proc');
      const rows = Math.round((COPY_MB * 1024 * 1024) / 100);
      const sql = `COPY (SELECT g, 'customer ' || g, 'note with no sensitive value, just padding to a hundred bytes ' || md5(g::text) FROM generate_series(1, ${rows}) g) TO STDOUT`;
      let peak = rssMb(procPid);
      const before = peak;
      const sampler = setInterval(() => { peak = Math.max(peak, rssMb(procPid)); }, 100);
      const started = performance.now();
      const child = spawn('sh', ['-c', `psql "host=127.0.0.1 port=${ports.masked} user=bench dbname=app password=${token}" -X -c "${sql}" | wc -c`], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c) => { out += c; });
      await new Promise((resolve) => child.on('exit', resolve));
      clearInterval(sampler);
      const seconds = (performance.now() - started) / 1000;
      const bytes = Number(out.trim());
      console.log(`\nmasked COPY OUT through Sluice: ${(bytes / 1024 / 1024).toFixed(0)} MB in ${seconds.toFixed(1)} s (${(bytes / 1024 / 1024 / seconds).toFixed(0)} MB/s); ext-proc RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB`);
    }
  } finally {
    await stopGatewayChild(gateway);
    await plain?.stop();
    echo?.kill('SIGTERM');
    await issuer.close();
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
