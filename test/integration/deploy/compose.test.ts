/**
 * deploy/compose, checked offline: the file against the compose-spec JSON schema and dclint's
 * rules (dclint bundles both), then what they cannot see — the mounted sluice.yaml loads with
 * the real loader and its policies with the real policy store, its paths meet the mounts, its
 * ports the published ones, its stores the services beside it, and no secret value is inline.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { parse, stringify } from 'yaml';
import { DCLinter } from 'dclint';
import { loadConfig } from '../../../common/config.ts';
import { silentLogger } from '../../../common/logger.ts';
import { PolicyStore } from '../../../ext-authz/policy/index.ts';
import { policyContext } from '../../../ext-authz/policy-context.ts';
import { COMPOSE_DIR, composeFile, ROOT, secretNames, secretsFileNames, type Resource } from './manifests.ts';

// The compose-spec schema as dclint ships it. It is draft-07 (Ajv's default), but names the
// meta-schema by an https URL Ajv does not know: dropped, as dclint itself does.
const { $schema: _metaSchema, ...COMPOSE_SCHEMA } = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', 'dclint', 'schemas', 'compose.schema.json'), 'utf8'));
const validateCompose = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true }).compile(COMPOSE_SCHEMA);
const compose = composeFile();
const sluice = compose.services.sluice;
const CONFIG_IN_CONTAINER = sluice.command[sluice.command.indexOf('--config') + 1] as string;

/** The bind or volume mounted at a container path, and the host path it comes from. */
function mountAt(service: Resource, target: string): Resource {
  const found = service.volumes.find((v: Resource) => v.target === target);
  assert.ok(found, `nothing is mounted at ${target}`);
  return found;
}
/** The mount a container path lies in (the deepest one). */
function mountHolding(service: Resource, file: string): Resource | undefined {
  return service.volumes
    .filter((v: Resource) => file === v.target || file.startsWith(`${v.target}/`))
    .sort((a: Resource, b: Resource) => b.target.length - a.target.length)[0];
}

/** Where a container path of the sluice service is on the host, through its bind mounts. */
function onHost(service: Resource, file: string): string {
  const mount = mountHolding(service, file);
  assert.ok(mount && mount.type === 'bind', `${file} is in no bind mount`);
  return path.join(path.resolve(COMPOSE_DIR, mount.source), path.posix.relative(mount.target, file));
}

describe('compose.yaml: compose-spec schema and dclint', () => {
  test('it passes the compose-spec JSON schema', () => {
    assert.equal(validateCompose(compose), true, JSON.stringify(validateCompose.errors, null, 2));
  });

  test('a control: the schema rejects an unknown key and a wrongly typed one', () => {
    const broken = structuredClone(compose);
    broken.services.sluice.read_only_root = true;
    broken.services.redis.volumes = 'redis-data:/data';
    assert.equal(validateCompose(broken), false);
    const paths = (validateCompose.errors ?? []).map((e) => e.instancePath);
    assert.ok(paths.includes('/services/sluice'), JSON.stringify(paths));
    assert.ok(paths.includes('/services/redis/volumes'), JSON.stringify(paths));
  });

  test('dclint finds nothing (its ordering-only style rules off: the file is ordered for reading)', () => {
    const linter = new DCLinter({
      rules: { 'service-keys-order': 0, 'services-alphabetical-order': 0, 'service-ports-alphabetical-order': 0 },
      quiet: false, debug: false, exclude: [],
    });
    const [result] = linter.lintFiles([path.join(COMPOSE_DIR, 'compose.yaml')], false);
    assert.ok(result);
    assert.deepEqual(result.messages.map((m: { line: number; rule: string; message: string }) => `${m.line}: ${m.rule}: ${m.message}`), []);
  });
});

describe('compose.yaml: hardening', () => {
  for (const name of ['sluice', 'postgres', 'redis']) {
    test(`${name}: read-only root, a healthcheck, restarted`, () => {
      const service = compose.services[name];
      assert.equal(service.read_only, true);
      assert.ok(Array.isArray(service.healthcheck.test) && service.healthcheck.test[0] === 'CMD');
      assert.equal(service.restart, 'unless-stopped');
    });
  }

  test('sluice: the image\'s fixed user, no capabilities, no new privileges, /tmp a tmpfs, an init', () => {
    assert.equal(sluice.user, '10001:10001');
    assert.deepEqual(sluice.cap_drop, ['ALL']);
    assert.ok(sluice.security_opt.includes('no-new-privileges:true'));
    assert.ok(sluice.tmpfs.some((t: string) => t.split(':')[0] === '/tmp'));
    assert.equal(sluice.init, true);
    // It waits for its stores to be healthy, not merely started.
    assert.deepEqual(sluice.depends_on, { postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
  });

  test('the stores are on an internal network only, with no published port', () => {
    assert.equal(compose.networks.backend.internal, true);
    for (const name of ['postgres', 'redis']) {
      assert.deepEqual(compose.services[name].networks, ['backend']);
      assert.equal(compose.services[name].ports, undefined);
    }
  });
});

describe('compose.yaml agrees with the sluice.yaml it mounts', () => {
  const hostConfig = onHost(sluice, CONFIG_IN_CONTAINER);
  const config = loadConfig(hostConfig);
  /** A path of sluice.yaml as the container sees it (relative ones resolve from the config's folder there). */
  const inContainer = (p: string) => path.posix.resolve(path.posix.dirname(CONFIG_IN_CONTAINER), p);
  const policiesOnHost = () => onHost(sluice, inContainer(config.extAuthz.policyDir));

  test('the config, the policies and the secrets folder are mounted read-only from files that exist', () => {
    for (const target of [path.posix.dirname(CONFIG_IN_CONTAINER), inContainer(config.extAuthz.policyDir), path.posix.dirname(config.extProc.secretsFile)]) {
      // A folder, not the file: an edit by rename (editors, secret managers) must reach the gateway.
      const mount = mountAt(sluice, target);
      assert.equal(mount.type, 'bind');
      assert.equal(mount.read_only, true, target);
      assert.ok(existsSync(path.resolve(COMPOSE_DIR, mount.source)), `${mount.source} exists`);
    }
  });

  test('the config loads with the real loader and its policies with the real policy store', async () => {
    const dir = policiesOnHost();
    const policies = await PolicyStore.open(dir, { logger: silentLogger(), context: policyContext(config) });
    await policies.close();
    const check = spawnSync(process.execPath, ['--import', 'tsx', 'cli/sluice.ts', 'policy', 'check', dir, '--config', hostConfig], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr + check.stdout);
  });

  test('`sluice envoy render` makes an Envoy config of it that Envoy validates (what the gateway generates at start)', () => {
    // The same file with its container paths mapped to the host, as the mounts map them.
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-deploy-compose-'));
    try {
      const raw = parse(readFileSync(hostConfig, 'utf8'));
      raw.extAuthz.policyDir = policiesOnHost();
      raw.extProc.secretsFile = onHost(sluice, config.extProc.secretsFile);
      raw.envoy.xdsDir = path.join(dir, 'envoy');
      writeFileSync(path.join(dir, 'sluice.yaml'), stringify(raw));
      const rendered = spawnSync(process.execPath, ['--import', 'tsx', 'cli/sluice.ts', 'envoy', 'render', '--config', path.join(dir, 'sluice.yaml')], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
      assert.equal(rendered.status, 0, rendered.stderr);
      assert.deepEqual(JSON.parse(rendered.stdout).static_resources.listeners.map((l: Resource) => l.address.socket_address.port_value), [config.envoy.listenPort]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('what the gateway writes lands in the state volume or the tmpfs, never the read-only root', () => {
    const holder = mountHolding(sluice, config.envoy.xdsDir);
    assert.ok(holder, `envoy.xdsDir ${config.envoy.xdsDir} is in no mount`);
    assert.equal(holder.type, 'volume');
    assert.notEqual(holder.read_only, true);
    assert.equal(config.extProc.sessions.store, 'postgres', 'file sessions would need a volume too');
    assert.notEqual(config.extProc.versionKeySecret, '', 'the version key comes from the secrets file, not a file written beside the config');
    assert.equal(config.log.decisionLog, 'stdout');
  });

  test('published ports are the configured listener and admin ports; the healthcheck asks the admin port', () => {
    const published = sluice.ports.map((p: string) => p.split(':').map(Number)).map(([, host, container]: number[]) => ({ host, container }));
    assert.deepEqual(published.map((p: { container: number }) => p.container).sort(), [config.admin.port, config.envoy.listenPort].sort());
    assert.equal(config.admin.host, '0.0.0.0', 'the admin port must listen beyond the container\'s loopback to be published');
    assert.equal(config.envoy.listenAddress, '0.0.0.0');
    assert.equal(config.envoy.adminAddress, '127.0.0.1', 'Envoy\'s admin stays inside the container');
    const url = new URL(sluice.environment.SLUICE_HEALTHCHECK_URL);
    assert.equal(Number(url.port), config.admin.port);
    assert.equal(url.pathname, '/readyz');
  });

  test('the stores are the services beside it, reached by service name, as the user PostgreSQL creates', () => {
    const db = new URL(config.extProc.sessions.databaseUrl);
    assert.equal(db.hostname, 'postgres');
    assert.equal(db.username, compose.services.postgres.environment.POSTGRES_USER);
    assert.equal(db.pathname, `/${compose.services.postgres.environment.POSTGRES_DB}`);
    assert.equal(config.approvals.store, 'redis');
    assert.equal(new URL(config.approvals.redisUrl).hostname, 'redis');
  });
});

describe('compose: no secret value is inline', () => {
  test('the database password comes from the environment (.env), in both services that need it', () => {
    const ref = /^\$\{SLUICE_DB_PASSWORD:\?[^}]+\}$/;
    assert.match(sluice.environment.PGPASSWORD, ref);
    assert.match(compose.services.postgres.environment.POSTGRES_PASSWORD, ref);
    assert.equal(new URL(loadConfig(path.join(COMPOSE_DIR, 'config', 'sluice.yaml')).extProc.sessions.databaseUrl).password, '');
  });

  test('no environment value of any service looks like a secret written out', () => {
    for (const [name, service] of Object.entries(compose.services as Record<string, Resource>)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (/PASS|SECRET|TOKEN|KEY/i.test(key)) assert.match(String(value), /^\$\{[A-Z_]+(:\?[^}]*)?\}$/, `${name} ${key}`);
      }
    }
  });

  test('the real secrets file and .env are git-ignored; only the examples are shipped', () => {
    for (const file of ['deploy/compose/secrets/secrets.yaml', 'deploy/compose/.env']) {
      assert.equal(spawnSync('git', ['check-ignore', '-q', file], { cwd: ROOT }).status, 0, `git ignores ${file}`);
    }
    const examplePath = path.join(COMPOSE_DIR, 'secrets', 'secrets.example.yaml');
    assert.deepEqual(secretsFileNames(examplePath), secretNames(loadConfig(path.join(COMPOSE_DIR, 'config', 'sluice.yaml'))), 'the example lists exactly the secrets the config names');
    const example = readFileSync(examplePath, 'utf8');
    for (const line of example.split('\n').filter((l) => /^\s+[a-z0-9-]+:/.test(l))) assert.match(line, /REPLACE-ME/, line);
  });
});
