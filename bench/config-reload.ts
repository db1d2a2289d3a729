/**
 * Config generation and reload at scale: for 10 and for 1,000 HTTP targets, how long it takes to
 * generate the Envoy config, to check it with `envoy --mode validate`, and to reload it in a real
 * Envoy (from applyXds starting until the last added target's route answers through Envoy), with
 * the 1,000/10 ratio of each. Run: npm run bench:config
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEnvoy } from '../common/envoy-process.ts';
import { freePort } from '../common/free-port.ts';
import { closeServer, listen } from '../common/http.ts';
import { applyXds, generateEnvoyConfig, validateGenerated, type GeneratorInput } from '../envoy/generate/index.ts';
import { gatewayInput, httpTarget } from '../envoy/generate/sample-input.ts';
import { startNoopServices } from './lib/noop-services.ts';

const SIZES = [10, 1000];
const GENERATE_RUNS = 5;

interface Result { targets: number; generateMs: number; validateMs: number; reloadMs: number; cdsBytes: number; rdsBytes: number }

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function measure(targets: number, base: (count: number) => GeneratorInput): Promise<Result> {
  const generateTimes: number[] = [];
  let generated = generateEnvoyConfig(base(targets));
  for (let i = 0; i < GENERATE_RUNS; i++) {
    const t0 = performance.now();
    generated = generateEnvoyConfig(base(targets));
    generateTimes.push(performance.now() - t0);
  }
  const t1 = performance.now();
  validateGenerated(generated);
  const validateMs = performance.now() - t1;

  // Envoy starts with one target, then the whole set arrives in one reload.
  const start = generateEnvoyConfig(base(1));
  const dir = base(1).xdsDir;
  await applyXds(dir, start);
  const envoy = await startEnvoy({ config: JSON.stringify(start.bootstrap) });
  try {
    const url = `http://127.0.0.1:${base(1).envoy.httpPort}/t${targets - 1}/`;
    const t2 = performance.now();
    await applyXds(dir, generated, { envoyAdminUrl: envoy.adminUrl, timeoutMs: 60_000 });
    while ((await fetch(url).then((r) => r.status, () => 0)) !== 200) {
      if (performance.now() - t2 > 60_000) throw new Error(`target ${targets - 1} never answered`);
      await sleep(5);
    }
    const reloadMs = performance.now() - t2;
    return {
      targets, generateMs: median(generateTimes), validateMs, reloadMs,
      cdsBytes: JSON.stringify(generated.files['cds.json']).length, rdsBytes: JSON.stringify(generated.files['rds.json']).length,
    };
  } finally {
    await envoy.stop();
  }
}

const services = await startNoopServices();
const upstream = createServer((_req, res) => res.end('ok'));
const upstreamPort = await listen(upstream, 0);
const results: Result[] = [];
try {
  for (const size of SIZES) {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-xds-'));
    const httpPort = await freePort();
    const base = (count: number) => gatewayInput(
      Array.from({ length: count }, (_, i) => httpTarget(`t${i}`, { endpoints: [{ host: '127.0.0.1', port: upstreamPort }] })),
      {
        xdsDir: dir,
        services: { extAuthz: [{ host: '127.0.0.1', port: services.extAuthzPort }], extProc: [{ host: '127.0.0.1', port: services.extProcPort }] },
        envoy: { ...gatewayInput([]).envoy, httpPort },
        // Every tenth target may hold and every seventh inspects bodies, so routes are not all alike.
        routing: new Map(Array.from({ length: count }, (_, i) => [`t${i}`, { mayHold: i % 10 === 0, inspectsBody: i % 7 === 0 }])),
      },
    );
    try {
      results.push(await measure(size, base));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
} finally {
  await services.stop();
  await closeServer(upstream);
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`.padStart(11);
console.log(`\nconfig generation and reload (Envoy ${process.env.ENVOY_BIN ? 'from ENVOY_BIN' : 'resolved'}; generate = median of ${GENERATE_RUNS})`);
console.log(`${'targets'.padEnd(9)}${'generate'.padStart(11)}${'validate'.padStart(11)}${'reload'.padStart(11)}${'cds.json'.padStart(11)}${'rds.json'.padStart(11)}`);
for (const r of results) {
  console.log(`${String(r.targets).padEnd(9)}${fmt(r.generateMs)}${fmt(r.validateMs)}${fmt(r.reloadMs)}${`${(r.cdsBytes / 1024).toFixed(0)} KiB`.padStart(11)}${`${(r.rdsBytes / 1024).toFixed(0)} KiB`.padStart(11)}`);
}
const [small, large] = results;
if (small && large) {
  const ratio = (a: number, b: number) => `${(a / b).toFixed(1)}x`.padStart(11);
  console.log(`${`${large.targets}/${small.targets}`.padEnd(9)}${ratio(large.generateMs, small.generateMs)}${ratio(large.validateMs, small.validateMs)}${ratio(large.reloadMs, small.reloadMs)}`);
}
