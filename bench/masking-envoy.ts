/**
 * Streaming masking through real Envoy, side by side in one run:
 *   bare        Envoy alone
 *   authz       Envoy + ext-authz            (the baseline for the added-latency figure)
 *   authz_noop_proc    Envoy + ext-authz + a no-op ext_proc server (the floor of the gRPC hops)
 *   authz_proc         Envoy + ext-authz + ext-proc (all built-in recognizers), STREAMED bodies
 *   authz_proc_duplex  the same with FULL_DUPLEX_STREAMED bodies
 * Figures: MB/s on a 100 MB JSON response (also for a target without a masking profile, with and
 * without an injected credential: the cost of scrubbing its echoes), added
 * p50/p99 on a small JSON response at a fixed rate (interleaved rounds), and a 1 GB response
 * through ext-proc with ext-proc's peak RSS. ext-authz and ext-proc run as their own processes,
 * ext-proc started as `npm run ext-proc` starts it. Session recording is off (masking cost only).
 *
 *   npm run bench:masking-envoy        (BENCH_SECONDS=10, BENCH_BIG_MB=100, BENCH_HUGE_MB=1024)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { DevIssuer } from '../dev/dev-issuer.ts';
import { renderTemplate } from './lib/render-template.ts';
import { startEnvoy } from '../common/envoy-process.ts';
import { freePort } from '../common/free-port.ts';
import { startExtAuthzProcess } from './lib/ext-authz-process.ts';
import { startJsonUpstream } from './lib/json-upstream.ts';
import { fixedRate, interleavedFixedRate } from './lib/fixed-rate.ts';
import { waitForListeners } from './lib/ports.ts';
import { rssMb } from './lib/proc-cpu.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BIG_MB = Number(process.env.BENCH_BIG_MB ?? 100);
const HUGE_MB = Number(process.env.BENCH_HUGE_MB ?? 1024);
const POLICIES = fileURLToPath(new URL('./policies/', import.meta.url));
const TEMPLATE = fileURLToPath(new URL('./envoy-masking.yaml', import.meta.url));
const CLI = fileURLToPath(new URL('../cli/sluice.ts', import.meta.url));
const NOOP_PROC_SERVER = fileURLToPath(new URL('./lib/noop-proc-server.ts', import.meta.url));
type Listener = 'bare' | 'authz' | 'authz_noop_proc' | 'authz_proc' | 'authz_proc_duplex';
const RECOGNIZERS = ['card', 'iban', 'email', 'phone', 'ssn', 'ipv4', 'ipv6', 'jwt', 'private-key', 'cloud-key'];

/** How `npm run ext-proc` starts ext-proc (environment and node flags), read from package.json. */
function extProcLaunch(): { env: Record<string, string>; nodeArgs: string[] } {
  const scripts = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts as Record<string, string>;
  const words = (scripts['ext-proc'] ?? '').split(' ');
  const env: Record<string, string> = {};
  for (const word of words.slice(0, words.indexOf('node'))) {
    const [name, value] = word.split('=');
    if (name && value !== undefined) env[name] = value;
  }
  return { env, nodeArgs: words.filter((arg) => arg.startsWith('--') && arg !== '--import') };
}

/** Downloads a URL, counting bytes; optionally samples a process's RSS meanwhile. */
async function download(url: string, token: string, rssOf?: number): Promise<{ mb: number; seconds: number; peakRssMb: number; status: number; raw: number }> {
  let peak = rssOf ? rssMb(rssOf) : 0;
  const timer = rssOf ? setInterval(() => { peak = Math.max(peak, rssMb(rssOf)); }, 100) : undefined;
  const started = performance.now();
  const result = await new Promise<{ bytes: number; status: number; raw: number }>((resolve, reject) => {
    http.get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      let bytes = 0;
      let raw = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (chunk.includes('4111 1111 1111 1111')) raw++;
      });
      res.on('end', () => resolve({ bytes, status: res.statusCode ?? 0, raw }));
      res.on('error', reject);
    }).on('error', reject);
  });
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  return { mb: result.bytes / (1024 * 1024), seconds, peakRssMb: peak, status: result.status, raw: result.raw };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-masking-'));
  const issuer = await DevIssuer.start();
  const token = await issuer.mint({ sub: 'alice', groups: ['engineering'], ttlSeconds: 7200 });
  const upstream = await startJsonUpstream();
  const ports = {
    ADMIN_PORT: await freePort(), BARE_PORT: await freePort(), AUTHZ_PORT: await freePort(), PROC_PORT: await freePort(), DUPLEX_PORT: await freePort(), NOOP_PROC_PORT: await freePort(), NOOP_PROC_SERVICE_PORT: await freePort(),
    UPSTREAM_PORT: upstream.port, EXT_AUTHZ_SERVICE_PORT: await freePort(), EXT_PROC_SERVICE_PORT: await freePort(),
  };
  // One sluice.yaml section for both services: ext-authz decides each exchange's masking profile
  // (the target default), ext-proc applies it.
  const extProc = {
    port: ports.EXT_PROC_SERVICE_PORT,
    sessions: { store: 'off' },
    // cred-api: no masking profile, a bearer credential injected (the echo scrub's cost).
    credentials: [{ target: 'cred-api', header: 'authorization', template: 'Bearer {secret}', secret: 'bench-cred' }],
    masking: { profiles: [{ name: 'pii', recognizers: RECOGNIZERS.map((use) => ({ use, strategy: 'redact' })) }], targets: { 'demo-api': 'pii' } },
  };
  const authz = await startExtAuthzProcess({
    dir, port: ports.EXT_AUTHZ_SERVICE_PORT, policyDir: POLICIES, targets: ['demo-api', 'ops-api', 'plain-api', 'admin-api', 'sql-api', 'cred-api'],
    issuers: [{ name: 'dev', issuer: issuer.url, audiences: ['sluice'] }], approvals: { port: await freePort() },
    extra: { extProc },
  });
  const procConfig = path.join(dir, 'ext-proc.yaml');
  writeFileSync(procConfig, JSON.stringify({
    targets: ['demo-api', 'ops-api', 'plain-api', 'cred-api'].map((name) => ({ name, endpoints: [`127.0.0.1:${upstream.port}`], http: { pathPrefix: `/${name}/` } })),
    extProc,
    log: { level: 'warn' },
  }));
  // ext-proc runs as the documented `npm run ext-proc` starts it (glibc malloc arenas capped, V8's
  // young generation held to 2 MB: streaming allocates many short-lived buffers on several
  // threads); BENCH_PROC_NODE_ARGS replaces the node flags to compare.
  const launch = extProcLaunch();
  const nodeArgs = process.env.BENCH_PROC_NODE_ARGS !== undefined ? process.env.BENCH_PROC_NODE_ARGS.split(' ').filter(Boolean) : launch.nodeArgs;
  // The floor: a no-op ext_proc server, started the same way.
  const noopProc: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', NOOP_PROC_SERVER, String(ports.NOOP_PROC_SERVICE_PORT)], {
    stdio: 'inherit', env: { ...process.env, ...launch.env },
  });
  const proc: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', CLI, 'ext-proc', '--config', procConfig], {
    stdio: 'inherit', env: { ...process.env, ...launch.env, SLUICE_SECRET_BENCH_CRED: 'bench-upstream-secret-0001' },
  });
  const envoy = await startEnvoy({
    concurrency: 1,
    // BENCH_ENVOY_ARGS="--component-log-level ext_proc:debug" to see why a stream failed.
    extraArgs: (process.env.BENCH_ENVOY_ARGS ?? '').split(' ').filter(Boolean),
    logFile: process.env.BENCH_ENVOY_LOG,
    config: renderTemplate(readFileSync(TEMPLATE, 'utf8'), ports, TEMPLATE),
  });
  const url = (listener: Listener, p: string) =>
    `http://127.0.0.1:${{ bare: ports.BARE_PORT, authz: ports.AUTHZ_PORT, authz_noop_proc: ports.NOOP_PROC_PORT, authz_proc: ports.PROC_PORT, authz_proc_duplex: ports.DUPLEX_PORT }[listener]}${p}`;
  try {
    await waitForListeners({ 'ext-proc': ports.EXT_PROC_SERVICE_PORT, 'no-op ext_proc': ports.NOOP_PROC_SERVICE_PORT });
    for (let i = 0; (await fetch(url('authz_proc', '/small'), { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status, () => 0)) !== 200; i++) {
      if (i > 100) throw new Error('the ext-proc listener never answered 200');
      await sleep(100);
    }
    console.log(`# Sluice masking through Envoy — ${new Date().toISOString()}, Envoy --concurrency 1, ext-authz and ext-proc one process each (ext-proc: ${Object.entries(launch.env).map(([k, v]) => `${k}=${v} `).join('')}node ${nodeArgs.join(' ')})`);

    console.log(`\n## ${BIG_MB} MB JSON response (10 built-in recognizers, redact)`);
    console.log('setup              MB/s     seconds  chunks with a raw card at the caller');
    const big: Record<string, number> = {};
    for (const listener of ['bare', 'authz', 'authz_noop_proc', 'authz_proc', 'authz_proc_duplex'] as const) {
      await download(url(listener, '/big?mb=5'), token);
      const r = await download(url(listener, `/big?mb=${BIG_MB}`), token);
      big[listener] = r.mb / r.seconds;
      console.log(`${listener.padEnd(17)} ${big[listener]!.toFixed(1).padStart(6)}  ${r.seconds.toFixed(2).padStart(8)}  ${r.raw}`);
    }
    console.log(`ratio authz_proc / bare: ${(big.authz_proc! / big.bare!).toFixed(3)}; FULL_DUPLEX_STREAMED / STREAMED: ${(big.authz_proc_duplex! / big.authz_proc!).toFixed(3)}`);
    // A target with no masking profile: STREAMED turns its body off from the response headers
    // (mode_override); FULL_DUPLEX_STREAMED cannot, so the body still goes through ext-proc.
    for (const listener of ['authz_proc', 'authz_proc_duplex'] as const) {
      const r = await download(url(listener, `/plain/big?mb=${BIG_MB}`), token);
      big[`${listener}_plain`] = r.mb / r.seconds;
      console.log(`${`${listener} (no profile)`.padEnd(31)} ${big[`${listener}_plain`]!.toFixed(1).padStart(6)}  ${r.seconds.toFixed(2).padStart(8)}`);
    }
    console.log(`unmasked target, FULL_DUPLEX_STREAMED / STREAMED: ${(big.authz_proc_duplex_plain! / big.authz_proc_plain!).toFixed(3)}`);

    // The echo scrub's cost: the same kind of unmasked target without a credential (ext-proc
    // switches the body off at the response headers) and with one (the body streams through the
    // literal scrub). Interleaved, best of three each, so drift hits both alike.
    console.log(`\n## Credential echo scrub on a target without a masking profile (${BIG_MB} MB, STREAMED, best of 3)`);
    // Every round is printed too: on a shared machine the spread says how far to trust the ratio.
    const rounds = { plain: [] as number[], cred: [] as number[] };
    for (let round = 0; round < 3; round++) {
      for (const which of ['plain', 'cred'] as const) {
        const r = await download(url('authz_proc', `/${which}/big?mb=${BIG_MB}`), token);
        if (r.status !== 200) throw new Error(`/${which}/big answered ${r.status}`);
        rounds[which].push(r.mb / r.seconds);
      }
    }
    const best = { plain: Math.max(...rounds.plain), cred: Math.max(...rounds.cred) };
    const each = (values: number[]) => values.map((v) => v.toFixed(0)).join(' / ');
    console.log(`no credential (body not streamed) ${best.plain.toFixed(1).padStart(7)} MB/s   rounds ${each(rounds.plain)}`);
    console.log(`credential, scrubbed              ${best.cred.toFixed(1).padStart(7)} MB/s   rounds ${each(rounds.cred)}`);
    console.log(`ratio scrubbed / not: ${(best.cred / best.plain).toFixed(3)} (per round: ${rounds.cred.map((c, i) => (c / rounds.plain[i]!).toFixed(3)).join(' / ')})`);
    await fixedRate(url('authz_proc', '/cred/small'), { rate: 500, durationMs: 2000, headers: { authorization: `Bearer ${token}` } });
    const scrubLat = await interleavedFixedRate(
      { plain: url('authz_proc', '/plain/small'), cred: url('authz_proc', '/cred/small') },
      { rate: 500, durationMs: SECONDS * 1000, rounds: 5, headers: { authorization: `Bearer ${token}` } },
    );
    for (const which of ['plain', 'cred'] as const) {
      const r = scrubLat[which]!;
      console.log(`small JSON ${which.padEnd(5)} p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  ok ${r.ok}/${r.sent}${r.failed ? ` failures by status ${JSON.stringify(r.failures)}` : ''}`);
    }
    console.log(`added p50 by the scrub: ${(scrubLat.cred!.p50 - scrubLat.plain!.p50).toFixed(3)} ms; p50 ratio ${(scrubLat.cred!.p50 / scrubLat.plain!.p50).toFixed(3)}`);
    console.log(`\n## Small JSON response at a fixed 500 req/s, ${SECONDS} s per setup in 5 interleaved rounds (open loop)`);
    const listeners = ['authz', 'authz_noop_proc', 'authz_proc', 'authz_proc_duplex'] as const;
    for (const listener of listeners) {
      await fixedRate(url(listener, '/small'), { rate: 500, durationMs: 2000, headers: { authorization: `Bearer ${token}` } });
    }
    const lat = await interleavedFixedRate(
      Object.fromEntries(listeners.map((l) => [l, url(l, '/small')])),
      { rate: 500, durationMs: SECONDS * 1000, rounds: 5, headers: { authorization: `Bearer ${token}` } },
    );
    for (const listener of listeners) {
      const r = lat[listener]!;
      console.log(`${listener.padEnd(17)} p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  ok ${r.ok}/${r.sent}${r.failed ? ` failures by status ${JSON.stringify(r.failures)}` : ''}`);
    }
    console.log(`added p50 by a no-op grpc-js ext_proc (same messages; the floor): ${(lat.authz_noop_proc!.p50 - lat.authz!.p50).toFixed(3)} ms`);
    console.log(`added p50 by ext-proc over Envoy + ext-authz: ${(lat.authz_proc!.p50 - lat.authz!.p50).toFixed(3)} ms STREAMED, ${(lat.authz_proc_duplex!.p50 - lat.authz!.p50).toFixed(3)} ms FULL_DUPLEX_STREAMED   (target <= 1 ms)`);

    console.log(`\n## ${HUGE_MB} MB response through Envoy + ext-authz + ext-proc`);
    const before = rssMb(proc.pid!);
    const huge = await download(url('authz_proc', `/big?mb=${HUGE_MB}`), token, proc.pid!);
    console.log(`status ${huge.status}, ${huge.mb.toFixed(0)} MB in ${huge.seconds.toFixed(1)} s (${(huge.mb / huge.seconds).toFixed(1)} MB/s); chunks with a raw card: ${huge.raw}`);
    console.log(`ext-proc RSS: ${before.toFixed(0)} MB before, peak ${huge.peakRssMb.toFixed(0)} MB during   (target < 150 MB)`);
    // Envoy's own count of ext_proc trouble (timeouts, failed or spurious streams) in this run.
    const stats = await (await fetch(`${envoy.adminUrl}/stats?filter=ext_proc`)).text();
    const trouble = stats.split('\n').filter((l) => /(failed|timeout|spurious|error|closed)/.test(l) && !/: 0$/.test(l));
    console.log(`\nEnvoy ext_proc counters that are not zero: ${trouble.length ? trouble.join('; ') : 'none'}`);
  } finally {
    await envoy.stop();
    proc.kill('SIGTERM');
    noopProc.kill('SIGTERM');
    await authz.stop();
    await upstream.close();
    await issuer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
