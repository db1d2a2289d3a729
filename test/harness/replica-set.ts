import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Redis } from 'ioredis';
import { parseConfig, type SluiceConfig } from '../../common/config.ts';
import { startEnvoy, type RunningEnvoy } from '../../common/envoy-process.ts';
import { freePort } from '../../common/free-port.ts';
import { createLogger } from '../../common/logger.ts';
import { DevIssuer } from '../../dev/dev-issuer.ts';
import { DemoUpstream } from '../../dev/demo-upstream.ts';
import { PolicyStore } from '../../ext-authz/policy/index.ts';
import { policyContext } from '../../ext-authz/policy-context.ts';
import { EnvoyPublisher } from '../../envoy/publisher.ts';
import { serviceEndpoints } from '../../envoy/from-config.ts';
import { EXT_AUTHZ_CLUSTER, EXT_PROC_CLUSTER } from '../../envoy/generate/resource-types.ts';

const CLI = fileURLToPath(new URL('../../cli/sluice.ts', import.meta.url));
const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));
const PG_ADMIN_URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.SLUICE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export type ServiceKind = 'ext-authz' | 'ext-proc';

export interface ReplicaSetOptions {
  extAuthz?: number;
  extProc?: number;
  envoys?: number;
  /** extAuthz.drain / extProc.drain of every replica (default: sluice.yaml's defaults). */
  drain?: { delay: string; timeout: string };
  /** A webhook per ext-authz replica (`<url>/<index>`): tells a test which replica holds an approval. */
  approvalWebhook?: string;
  /** Hot restart: how long the old Envoy drains, and when it exits. */
  envoyDrainS?: number;
  envoyParentShutdownS?: number;
  /** Policy directory copied for the replicas (default: test/fixtures/policies). */
  policySource?: string;
  /** Approvals store: Redis at this URL under this key prefix (default: the local Redis, a prefix of the set's own). */
  approvals?: { redisUrl: string; keyPrefix: string };
  /** log.level of every replica (default warn). */
  logLevel?: string;
  /** Edits every replica's sluice.yaml document before it is written (the harness gateway's options). */
  editConfig?: (doc: Record<string, any>) => void;
}

/** One `sluice ext-authz` / `sluice ext-proc` process, on ports it keeps across restarts. */
export interface ServiceReplica {
  kind: ServiceKind;
  index: number;
  port: number;
  adminPort: number;
  configFile: string;
  child: ChildProcess | undefined;
  exited: Promise<number | null> | undefined;
  /** Base URL of its admin server (approvals API on ext-authz). */
  adminUrl: string;
}

export interface EnvoyReplica {
  index: number;
  httpPort: number;
  epoch: number;
  envoy: RunningEnvoy;
}

export interface RestartReport {
  kind: ServiceKind | 'envoy';
  index: number;
  /** SIGTERM (or the new epoch starting) until the old process exited. */
  drainMs: number;
  exitCode: number | null;
  /** Until the new process was ready and every Envoy routed to it again. */
  backMs: number;
}

/**
 * Sluice as replicas on one machine, each its own process on loopback: `envoys` Envoys (hot
 * restart capable, each on its own HTTP port), `extAuthz` ext-authz and `extProc` ext-proc
 * replicas of the real CLI, sharing approvals through the local Redis (own key prefix) and
 * session records through the local PostgreSQL (a database of their own, dropped at the end), a
 * local OIDC issuer and the demo upstream. Every Envoy's service clusters list every replica.
 */
export class ReplicaSet {
  private constructor(
    readonly issuer: DevIssuer,
    readonly upstream: DemoUpstream,
    readonly authz: ServiceReplica[],
    readonly proc: ServiceReplica[],
    readonly envoys: EnvoyReplica[],
    readonly config: SluiceConfig,
    private readonly workDir: string,
    private readonly database: { name: string; url: string },
    private readonly redisKeyPrefix: string,
    private readonly options: ReplicaSetOptions,
    private readonly bootstraps: string[],
  ) {}

  static async start(options: ReplicaSetOptions = {}): Promise<ReplicaSet> {
    const undo: (() => Promise<unknown> | unknown)[] = [];
    try {
      return await ReplicaSet.startTracked(options, undo);
    } catch (err) {
      for (const step of undo.reverse()) await Promise.resolve().then(step).catch(() => undefined);
      throw err;
    }
  }

  private static async startTracked(options: ReplicaSetOptions, undo: (() => Promise<unknown> | unknown)[]): Promise<ReplicaSet> {
    const workDir = mkdtempSync(path.join(tmpdir(), 'sluice-replicas-'));
    undo.push(() => rmSync(workDir, { recursive: true, force: true }));
    const policyDir = path.join(workDir, 'policies');
    cpSync(options.policySource ?? FIXTURE_POLICIES, policyDir, { recursive: true });
    const issuer = await DevIssuer.start();
    undo.push(() => issuer.close());
    const upstream = await DemoUpstream.start();
    undo.push(() => upstream.close());
    const database = await createDatabase();
    undo.push(() => dropDatabase(database.name));
    const redisKeyPrefix = options.approvals?.keyPrefix ?? `sluice-replicas-${process.pid}-${Date.now().toString(36)}:`;
    const redisUrl = options.approvals?.redisUrl ?? REDIS_URL;
    undo.push(() => deleteKeys(redisKeyPrefix));

    const replica = async (kind: ServiceKind, index: number): Promise<ServiceReplica> => {
      const port = await freePort();
      const adminPort = await freePort();
      return { kind, index, port, adminPort, configFile: path.join(workDir, `${kind}-${index}.yaml`), child: undefined, exited: undefined, adminUrl: `http://127.0.0.1:${adminPort}` };
    };
    const authz: ServiceReplica[] = [];
    for (let i = 0; i < (options.extAuthz ?? 2); i++) authz.push(await replica('ext-authz', i));
    const proc: ServiceReplica[] = [];
    for (let i = 0; i < (options.extProc ?? 2); i++) proc.push(await replica('ext-proc', i));

    const secretsFile = path.join(workDir, 'secrets.yaml');
    writeFileSync(secretsFile, 'secrets:\n  demo-api-token: "demo-upstream-secret-0001"\n  ops-api-key: "ops-upstream-secret-0001"\n');
    const document = (webhook?: string, name = 'all'): Record<string, any> => {
      const doc: Record<string, any> = {
      targets: [
        { name: 'ops-api', prefix: '/ops/' }, { name: 'sql-api', prefix: '/sql/' }, { name: 'admin-api', prefix: '/admin/' }, { name: 'demo-api', prefix: '/' },
      ].map((t) => ({ name: t.name, endpoints: [`127.0.0.1:${upstream.address.port}`], http: { pathPrefix: t.prefix } })),
      issuers: [{ name: 'dev', issuer: issuer.url, audiences: ['sluice'] }],
      extAuthz: { policyDir, endpoints: authz.map((r) => `127.0.0.1:${r.port}`), ...(options.drain ? { drain: options.drain } : {}) },
      extProc: {
        endpoints: proc.map((r) => `127.0.0.1:${r.port}`),
        ...(options.drain ? { drain: options.drain } : {}),
        secretsFile,
        credentials: [
          { target: 'demo-api', header: 'authorization', template: 'Bearer {secret}', secret: 'demo-api-token' },
          { target: 'ops-api', header: 'x-api-key', template: '{secret}', secret: 'ops-api-key' },
        ],
        sessions: { store: 'postgres', databaseUrl: database.url },
      },
      approvals: { store: 'redis', redisUrl, redisKeyPrefix, ...(webhook ? { webhooks: [{ url: webhook, format: 'json' }] } : {}) },
      envoy: { xdsDir: path.join(workDir, 'envoy') },
      log: { level: options.logLevel ?? 'warn', decisionLog: path.join(workDir, `decisions-${name}.log`) },
      };
      options.editConfig?.(doc);
      return doc;
    };
    const configFile = path.join(workDir, 'sluice.yaml');
    writeFileSync(configFile, JSON.stringify(document()));
    for (const r of authz) writeFileSync(r.configFile, JSON.stringify(document(options.approvalWebhook ? `${options.approvalWebhook}/${r.index}` : undefined, `ext-authz-${r.index}`)));
    for (const r of proc) writeFileSync(r.configFile, JSON.stringify(document(undefined, `ext-proc-${r.index}`)));
    const config = parseConfig(JSON.stringify(document()), configFile);

    const set = new ReplicaSet(issuer, upstream, authz, proc, [], config, workDir, database, redisKeyPrefix, options, []);
    undo.push(() => set.stopServices());
    // One at a time: the first ext-proc applies the session store's migrations and writes the version key.
    for (const r of [...authz, ...proc]) await set.startService(r);

    for (let i = 0; i < (options.envoys ?? 2); i++) {
      const httpPort = await freePort();
      set.bootstraps.push(await envoyBootstrap(config, path.join(workDir, `envoy-${i}`), httpPort));
      const envoy = await set.startEnvoyEpoch(i, 0);
      set.envoys.push({ index: i, httpPort, epoch: 0, envoy });
      undo.push(() => set.envoys[i]?.envoy.stop());
    }
    for (const r of [...authz, ...proc]) await set.waitRouted(r);
    return set;
  }

  private startEnvoyEpoch(index: number, epoch: number, baseId?: number): Promise<RunningEnvoy> {
    return startEnvoy({
      config: this.bootstraps[index]!,
      logFile: path.join(this.workDir, `envoy-${index}-epoch-${epoch}.log`),
      hotRestart: { epoch, ...(baseId === undefined ? {} : { baseId }), drainTimeS: this.options.envoyDrainS ?? 2, parentShutdownTimeS: this.options.envoyParentShutdownS ?? 4 },
      startTimeoutMs: 30_000,
    });
  }

  /** Base URL of Envoy `index`. */
  url(index: number): string {
    return `http://127.0.0.1:${this.envoys[index]!.httpPort}`;
  }

  replicas(kind: ServiceKind): ServiceReplica[] {
    return kind === 'ext-authz' ? this.authz : this.proc;
  }

  /** Starts the replica's process and waits for its /readyz. */
  async startService(r: ServiceReplica): Promise<void> {
    const log = createWriteStream(path.join(this.workDir, `${r.kind}-${r.index}.log`), { flags: 'a' });
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, r.kind, '--config', r.configFile, '--port', String(r.port), '--admin-port', String(r.adminPort)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SLUICE_REPLICA_ID: `${r.kind}-${r.index}` },
    });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    r.child = child;
    r.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (true) {
      if (child.exitCode !== null) throw new Error(`${r.kind} ${r.index} exited during start (code ${child.exitCode}); see ${this.workDir}/${r.kind}-${r.index}.log`);
      if (Date.now() > deadline) throw new Error(`${r.kind} ${r.index} not ready within 30 s`);
      const ready = await fetch(`${r.adminUrl}/readyz`, { signal: AbortSignal.timeout(1000) }).then((res) => res.status === 200, () => false);
      if (ready) return;
      await sleep(100);
    }
  }

  /** Waits until every Envoy's cluster has the replica healthy (its health check passed, not ejected). */
  async waitRouted(r: ServiceReplica, timeoutMs = 20_000): Promise<void> {
    const cluster = r.kind === 'ext-authz' ? EXT_AUTHZ_CLUSTER : EXT_PROC_CLUSTER;
    const deadline = Date.now() + timeoutMs;
    for (const e of this.envoys) {
      while (!(await hostHealthy(e.envoy.adminUrl, cluster, r.port))) {
        if (Date.now() > deadline) throw new Error(`envoy ${e.index} does not route to ${r.kind} ${r.index} within ${timeoutMs} ms`);
        await sleep(100);
      }
    }
  }

  /** SIGTERM → the replica drains and exits → started again → ready and routed by every Envoy. */
  async restartService(kind: ServiceKind, index: number): Promise<RestartReport> {
    const r = this.replicas(kind)[index]!;
    const started = performance.now();
    r.child!.kill('SIGTERM');
    const exitCode = await r.exited!;
    const drainMs = performance.now() - started;
    await this.startService(r);
    await this.waitRouted(r);
    return { kind, index, drainMs, exitCode, backMs: performance.now() - started };
  }

  /** SIGTERM → the replica drains and exits (it stays stopped until startService). */
  async stopService(r: ServiceReplica): Promise<number | null> {
    if (!r.child || r.child.exitCode !== null || r.child.signalCode !== null) return r.child?.exitCode ?? null;
    r.child.kill('SIGTERM');
    return await r.exited!;
  }

  /** Hot restart of Envoy `index`: the next epoch takes its sockets, the old one drains and exits. */
  async restartEnvoy(index: number): Promise<RestartReport> {
    const e = this.envoys[index]!;
    const old = e.envoy;
    const started = performance.now();
    const oldExit = old.exited.then((code) => ({ code, at: performance.now() }));
    e.envoy = await this.startEnvoyEpoch(index, e.epoch + 1, old.baseId);
    e.epoch += 1;
    const backMs = performance.now() - started;
    const exit = await oldExit;
    await old.stop();
    return { kind: 'envoy', index, drainMs: exit.at - started, exitCode: exit.code, backMs };
  }

  /** The request paths of every session record written so far. */
  async recordedPaths(): Promise<string[]> {
    const client = new pg.Client({ connectionString: this.database.url });
    await client.connect();
    try {
      const result = await client.query<{ path: string | null }>('SELECT path FROM sluice_sessions');
      return result.rows.map((row) => row.path ?? '');
    } finally {
      await client.end();
    }
  }

  private async stopServices(): Promise<void> {
    await Promise.all([...this.authz, ...this.proc].map(async (r) => {
      if (!r.child || r.child.exitCode !== null || r.child.signalCode !== null) return;
      r.child.kill('SIGTERM');
      const killer = setTimeout(() => r.child?.kill('SIGKILL'), 10_000);
      await r.exited;
      clearTimeout(killer);
    }));
  }

  async stop(): Promise<void> {
    for (const e of this.envoys) await e.envoy.stop();
    await this.stopServices();
    await this.upstream.close();
    await this.issuer.close();
    await dropDatabase(this.database.name).catch(() => undefined);
    await deleteKeys(this.redisKeyPrefix).catch(() => undefined);
    // SLUICE_KEEP_REPLICA_LOGS=1 keeps every process's log (and the configs) for a look afterwards.
    if (process.env.SLUICE_KEEP_REPLICA_LOGS) console.error(`# replica logs kept in ${this.workDir}`);
    else rmSync(this.workDir, { recursive: true, force: true });
  }

  /** The PostgreSQL database the ext-proc replicas record sessions into. */
  get databaseUrl(): string {
    return this.database.url;
  }

  /** Where the processes' logs are (kept with SLUICE_KEEP_REPLICA_LOGS=1). */
  get logDir(): string {
    return this.workDir;
  }
}

async function envoyBootstrap(config: SluiceConfig, xdsDir: string, httpPort: number): Promise<string> {
  const logger = createLogger('replica-set-envoy', { level: 'warn' });
  const policies = await PolicyStore.open(path.resolve(config.baseDir, config.extAuthz.policyDir), { logger, context: policyContext(config) });
  try {
    const publisher = new EnvoyPublisher({ logger, services: { ...serviceEndpoints(config), envoy: { httpPort, adminPort: 0 }, xdsDir } });
    const needs = (target: string) => policies.current().routingNeeds(target);
    const generated = await publisher.prepare(config, needs);
    const result = await publisher.publish(config, needs, generated);
    if (!result.ok) throw result.error;
    return JSON.stringify(generated.bootstrap);
  } finally {
    await policies.close();
  }
}

/** Whether Envoy's admin /clusters has `port` in `cluster` as healthy: active check passed, not ejected. */
export async function hostHealthy(adminUrl: string, cluster: string, port: number): Promise<boolean> {
  const body = await fetch(`${adminUrl}/clusters?format=json`, { signal: AbortSignal.timeout(2000) }).then((r) => r.json(), () => undefined) as
    { cluster_statuses?: { name: string; host_statuses?: { address?: { socket_address?: { port_value?: number } }; health_status?: Record<string, unknown> }[] }[] } | undefined;
  const host = body?.cluster_statuses?.find((c) => c.name === cluster)?.host_statuses?.find((h) => h.address?.socket_address?.port_value === port);
  if (!host?.health_status) return false;
  const status = host.health_status;
  return status.eds_health_status === 'HEALTHY' && !status.failed_active_health_check && !status.failed_outlier_check && !status.pending_active_hc;
}

async function createDatabase(): Promise<{ name: string; url: string }> {
  const name = `sluice_replicas_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { name, url: url.href };
}

async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
