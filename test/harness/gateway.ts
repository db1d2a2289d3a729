import { mkdtempSync, mkdirSync, cpSync, renameSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify, parse as parseYaml } from 'yaml';
import { ConfigStore, loadConfig, type ConfigSubscriber, type SluiceConfig } from '../../common/config.ts';
import { DevIssuer } from '../../dev/dev-issuer.ts';
import { DemoUpstream } from '../../dev/demo-upstream.ts';
import { startExtAuthzService, type ExtAuthzService } from '../../ext-authz/service.ts';
import { startExtProcService, type ExtProcService } from '../../ext-proc/service.ts';
import { startGeneratedEnvoy, type GeneratedEnvoy } from '../../envoy/run.ts';
import { envoyRuntime, startEnvoyUnderTest, type EnvoyUnderTest } from './envoy-runtime.ts';
import { capturedLogger } from './log-capture.ts';
import { FileSessionStore, httpRequestOf, type SessionFilter, type SessionRecord } from '../../ext-proc/sessions/index.ts';
import { freePort } from '../../common/free-port.ts';
import { JwtIdentityVerifier, parseIssuerConfig } from '../../ext-authz/identity/index.ts';
import { ReplicaGateway, replicaTopology } from './replica-gateway.ts';
import { sendRequest, type RequestInit } from './http-request.ts';

const REPO_POLICIES = fileURLToPath(new URL('../../policies/', import.meta.url));

/** The real credentials the e2e upstream expects; callers never hold them. */
export const TEST_SECRETS = { 'demo-api-token': 'demo-upstream-secret-0001', 'ops-api-key': 'ops-upstream-secret-0001' };

/** Credential plans of the e2e gateway: demo-api takes a bearer token, ops-api an API key header. */
const TEST_CREDENTIALS = [
  { target: 'demo-api', header: 'authorization', template: 'Bearer {secret}', secret: 'demo-api-token' },
  { target: 'ops-api', header: 'x-api-key', template: '{secret}', secret: 'ops-api-key' },
];

/** The demo targets every e2e gateway declares, all on the demo upstream, reached by path prefix. */
const DEMO_TARGETS = [
  { name: 'ops-api', prefix: '/ops/' },
  { name: 'sql-api', prefix: '/sql/' },
  { name: 'admin-api', prefix: '/admin/' },
  { name: 'demo-api', prefix: '/' },
];

export interface GatewayOptions {
  /** Policy files to use; a private copy is made so tests may edit it. Default: the repo's policies/. */
  policySource?: string;
  extAuthzTimeout?: string;
  approvalTimeout?: string;
  /** ext-authz replicas behind one Envoy cluster (more than one needs a Redis approvals store). */
  replicas?: number;
  approvals?: ({ store: 'memory' } | { store: 'redis'; redisUrl: string; keyPrefix: string }) & { webhooks?: { url: string; format: 'json' | 'slack' }[] };
  /** extProc.masking for the gateway (profiles and which target uses which). */
  masking?: { profiles: unknown[]; targets: Record<string, string> };
  /** Policy files added to the private policy copy before the services start (name → YAML). */
  extraPolicies?: Record<string, string>;
  /** Credential entries that replace the test defaults of the same targets (e.g. an OAuth2 one). */
  credentials?: { target: string; [key: string]: unknown }[];
  /** Secrets added to TEST_SECRETS in the secrets file. */
  secrets?: Record<string, string>;
  /** Envoy route idle timeout (default: the gateway's 300s). */
  routeIdleTimeout?: string;
  /** extProc.sessions (default: the file store in a private directory). */
  sessions?: Record<string, unknown>;
  /** More sluice.yaml targets, declared before the demo ones (so their prefixes win over `/`). */
  targets?: Record<string, unknown>[];
  /** Path prefix of the demo-api target (default "/", which catches every path nothing else routes). */
  demoApiPrefix?: string;
  /** Give ext-proc its admin server (/healthz, /readyz, /metrics) on a free port, kept across restarts. */
  extProcAdmin?: boolean;
  /** sluice.yaml `console:` (enabled, signing in with the test issuer "dev"); implies extProcAdmin, with the sessions API on it. */
  console?: Record<string, unknown>;
}

/** One ext-authz replica and what the tests read from it. */
export interface Replica {
  port: number;
  service: ExtAuthzService | undefined;
  logs: ReturnType<typeof capturedLogger>;
  decisions: ReturnType<typeof capturedLogger>;
  /** Base URL of this replica's approvals API. */
  approvalsUrl: string;
}

/**
 * The e2e fixture: a local OIDC issuer, a recording upstream, ext-authz replicas, ext-proc and a
 * real Envoy whose whole config is generated from a sluice.yaml this harness writes (the demo
 * targets on the demo upstream, plus the test's own). Tests may rewrite that file while traffic
 * flows (`updateConfig`); the gateway follows it as a deployed one would. Logs from each service
 * are captured so tests can search them for secrets.
 */
export class Gateway {
  private constructor(
    readonly issuer: DevIssuer,
    readonly upstream: DemoUpstream,
    readonly replicas: Replica[],
    readonly envoy: EnvoyUnderTest,
    readonly policyDir: string,
    private readonly options: GatewayOptions,
    /** The live services, as the config store's subscribers see them (restarts replace them). */
    private readonly running: { proc: ExtProcService | undefined },
    readonly procLogs: ReturnType<typeof capturedLogger>,
    readonly secretsFile: string,
    private readonly procPort: number,
    /** ext-proc's admin port, when `extProcAdmin` asked for one. */
    private readonly procAdminPort: number | undefined,
    /** The sluice.yaml this gateway runs on. */
    readonly configFile: string,
    readonly configStore: ConfigStore,
    private readonly generated: GeneratedEnvoy<EnvoyUnderTest>,
  ) {}

  static async start(options: GatewayOptions = {}): Promise<Gateway> {
    // SLUICE_E2E_TOPOLOGY=replicas: the same surface on 2 Envoys + 2 ext-authz + 2 ext-proc processes
    // (test/harness/replica-gateway.ts); what has no meaning there throws there, by name.
    if (replicaTopology()) return (await ReplicaGateway.start(options)) as unknown as Gateway;
    // A start that fails half way must not leave servers behind: they would keep the test
    // process alive after its suite failed, and the runner would wait for it forever.
    const started: (() => Promise<unknown> | unknown)[] = [];
    try {
      return await Gateway.startTracked(options, started);
    } catch (err) {
      for (const undo of started.reverse()) await Promise.resolve().then(undo).catch(() => {});
      throw err;
    }
  }

  private static async startTracked(options: GatewayOptions, started: (() => Promise<unknown> | unknown)[]): Promise<Gateway> {
    const runtime = envoyRuntime();
    const policyDir = mkdtempSync(path.join(tmpdir(), 'sluice-policies-'));
    started.push(() => rmSync(policyDir, { recursive: true, force: true }));
    cpSync(options.policySource ?? REPO_POLICIES, policyDir, { recursive: true });
    for (const [name, text] of Object.entries(options.extraPolicies ?? {})) writeFileSync(path.join(policyDir, name), text);
    const issuer = await DevIssuer.start();
    started.push(() => issuer.close());
    const upstream = await DemoUpstream.start();
    started.push(() => upstream.close());
    const workDir = mkdtempSync(path.join(tmpdir(), 'sluice-gateway-'));
    started.push(() => rmSync(workDir, { recursive: true, force: true }));
    const secretsFile = path.join(workDir, 'secrets.yaml');
    Gateway.writeSecretsFile(secretsFile, { ...TEST_SECRETS, ...options.secrets });
    const configFile = path.join(workDir, 'sluice.yaml');
    const demoDbPort = await freePort();
    const demoCachePort = await freePort();
    writeFileSync(configFile, stringify(Gateway.configDocument(options, { policyDir, secretsFile, workDir, servicesHost: runtime.servicesHost, upstreamPort: upstream.address.port, demoDbPort, demoCachePort })));
    const config = loadConfig(configFile);

    const procAdminPort = options.extProcAdmin || options.console ? await freePort() : undefined;
    const replicas: Replica[] = [];
    for (let i = 0; i < (options.replicas ?? 1); i++) {
      const replica: Replica = { port: 0, service: undefined, logs: capturedLogger(`ext-authz-${i}`), decisions: capturedLogger(`decision-${i}`), approvalsUrl: '' };
      replicas.push(replica);
      started.push(() => replica.service?.close());
      await Gateway.startReplica(replica, config, issuer, procAdminPort);
    }
    const procLogs = capturedLogger('ext-proc');
    const procPort = await freePort();
    const proc = await Gateway.startProc(config, procLogs, procPort, procAdminPort, `127.0.0.1:${replicas[0]!.port}`, issuer);
    started.push(() => proc.close());

    const configStore = new ConfigStore(config, replicas[0]!.logs.logger);
    started.push(() => configStore.close());
    // Replicas and ext-proc restart during tests: the store always talks to the live ones.
    const holder = { proc: proc as ExtProcService | undefined };
    const live = (name: string, pick: () => (ConfigSubscriber | undefined)[]): ConfigSubscriber => ({
      name,
      check: async (next) => {
        for (const s of pick()) {
          const verdict = (await s?.check?.(next)) ?? { ok: true as const };
          if (!verdict.ok) return verdict;
        }
        return { ok: true };
      },
      apply: async (next, previous) => {
        for (const s of pick()) {
          const outcome = (await s?.apply(next, previous)) ?? { ok: true as const };
          if (!outcome.ok) return outcome;
        }
        return { ok: true };
      },
    });
    configStore.subscribe(live('ext-authz replicas', () => replicas.map((r) => r.service?.configSubscriber)));
    configStore.subscribe(live('ext-proc', () => [holder.proc?.configSubscriber]));

    const httpPort = await freePort();
    const servicePorts = [...replicas.map((r) => r.port), procPort, upstream.address.port];
    const generated = await startGeneratedEnvoy({
      configStore,
      policies: replicas[0]!.service!.policies,
      logger: replicas[0]!.logs.logger,
      services: {
        extAuthz: replicas.map((r) => ({ host: runtime.servicesHost, port: r.port })),
        extProc: [{ host: runtime.servicesHost, port: procPort }],
        envoy: runtime.kind === 'docker'
          ? { listenAddress: '0.0.0.0', httpPort, adminAddress: '0.0.0.0', adminPort: 9901 }
          : { listenAddress: '127.0.0.1', httpPort, adminAddress: '127.0.0.1', adminPort: 0 },
      },
      start: (bootstrap) => startEnvoyUnderTest(runtime, bootstrap, { xdsDir: path.join(workDir, 'envoy'), httpPort, servicePorts }),
    });
    configStore.watch(100);
    return new Gateway(issuer, upstream, replicas, generated.envoy, policyDir, options, holder, procLogs, secretsFile, procPort, procAdminPort, configFile, configStore, generated);
  }

  /** The directory Envoy watches (xDS files, and redis upstream login files under secrets/). */
  get xdsDir(): string {
    return this.generated.xdsDir;
  }

  /** The running ext-proc (undefined while a test has it stopped). */
  get proc(): ExtProcService | undefined {
    return this.running.proc;
  }

  /** The sluice.yaml document of a test gateway (plain data, written as YAML). */
  private static configDocument(options: GatewayOptions, at: { policyDir: string; secretsFile: string; workDir: string; servicesHost: string; upstreamPort: number; demoDbPort: number; demoCachePort: number }): Record<string, unknown> {
    const replaced = new Set((options.credentials ?? []).map((c) => c.target));
    const approvals = options.approvals ?? { store: 'memory' };
    return {
      targets: [
        ...(options.targets ?? []),
        ...DEMO_TARGETS.map((t) => ({
          name: t.name, endpoints: [`${at.servicesHost}:${at.upstreamPort}`],
          http: { pathPrefix: t.name === 'demo-api' ? options.demoApiPrefix ?? t.prefix : t.prefix },
        })),
        // The repo's policies/database.yaml is about this one (the local PostgreSQL, as `npm start` has it).
        ...((options.targets ?? []).some((t) => t.name === 'demo-db') ? [] : [{ name: 'demo-db', protocol: 'postgres', endpoints: ['127.0.0.1:5432'], postgres: { port: at.demoDbPort } }]),
        // The repo's policies/redis.yaml is about this one (the shared local Redis, as `npm start` has it: no ACL user there).
        ...((options.targets ?? []).some((t) => t.name === 'demo-cache') ? [] : [{ name: 'demo-cache', protocol: 'redis', endpoints: ['127.0.0.1:6379'], redis: { port: at.demoCachePort, allowPrivilegedUpstream: true } }]),
      ],
      extAuthz: { policyDir: at.policyDir },
      envoy: {
        xdsDir: path.join(at.workDir, 'envoy'),
        extAuthzTimeout: options.extAuthzTimeout ?? '1s',
        approvalTimeout: options.approvalTimeout ?? '30s',
        ...(options.routeIdleTimeout ? { routeIdleTimeout: options.routeIdleTimeout } : {}),
      },
      extProc: {
        secretsFile: at.secretsFile,
        credentials: [...TEST_CREDENTIALS.filter((c) => !replaced.has(c.target)), ...(options.credentials ?? [])],
        sessions: options.sessions ?? { store: 'file', dir: path.join(at.workDir, 'sessions') },
        masking: options.masking ?? { profiles: [], targets: {} },
      },
      ...(options.console ? { console: { enabled: true, issuer: 'dev', clientId: 'sluice', ...options.console } } : {}),
      approvals: {
        ...(approvals.store === 'redis' ? { store: 'redis', redisUrl: approvals.redisUrl, redisKeyPrefix: approvals.keyPrefix } : { store: 'memory' }),
        webhooks: approvals.webhooks ?? [],
      },
    };
  }

  /**
   * Rewrites sluice.yaml the way an operator's deploy would (whole file, then a rename) and
   * returns at once; the gateway picks the change up from the file, as a deployed one does.
   */
  updateConfig(edit: (doc: Record<string, any>) => void): void {
    const doc = parseYaml(readFileSync(this.configFile, 'utf8')) as Record<string, any>;
    edit(doc);
    Gateway.writeSecretsText(this.configFile, stringify(doc));
  }

  /** Writes a raw sluice.yaml text (for broken edits). */
  writeConfigText(text: string): void {
    Gateway.writeSecretsText(this.configFile, text);
  }

  get config(): SluiceConfig {
    return this.configStore.current();
  }

  private static startProc(config: SluiceConfig, logs: ReturnType<typeof capturedLogger>, port: number, adminPort: number | undefined, extAuthzAddress: string, issuer: DevIssuer): Promise<ExtProcService> {
    // With the console on, ext-proc serves the sessions API its auditors read through, as `sluice ext-proc` does.
    const sessionsApi = config.console.enabled
      ? { sessionsApi: { verifier: new JwtIdentityVerifier({ issuers: [parseIssuerConfig(Gateway.devIssuerEntry(issuer), 'dev')] }), readers: config.console.auditors } }
      : {};
    return startExtProcService(config, { logger: logs.logger, port, env: {}, extAuthzAddress, ...(adminPort === undefined ? {} : { adminPort }), ...sessionsApi });
  }

  private static devIssuerEntry(issuer: DevIssuer) {
    return { name: 'dev', issuer: issuer.url, audiences: ['sluice'], jwksCooldownMs: 1000, jwksCacheMaxAgeMs: 1000 };
  }

  /** Base URL of ext-proc's admin server (only with `extProcAdmin`). */
  get procAdminUrl(): string {
    if (this.procAdminPort === undefined) throw new Error('start the gateway with extProcAdmin: true for an ext-proc admin server');
    return `http://127.0.0.1:${this.procAdminPort}`;
  }

  /** Writes the secrets file the way an operator (or a secret mount) would: whole, then renamed. */
  static writeSecretsFile(file: string, secrets: Record<string, string>): void {
    Gateway.writeSecretsText(file, `secrets:\n${Object.entries(secrets).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join('\n')}\n`);
  }

  static writeSecretsText(file: string, text: string): void {
    mkdirSync(path.dirname(file), { recursive: true });
    const staging = `${file}.tmp-${process.pid}`;
    writeFileSync(staging, text);
    renameSync(staging, file);
  }

  /** Where the file session store of this gateway writes. */
  get sessionsDir(): string {
    return path.join(path.dirname(this.secretsFile), 'sessions');
  }

  /**
   * The recorded session of the exchange whose request path contains `fragment`, once the
   * recording queue has drained (file store). Throws when there is none.
   */
  async recordFor(fragment: string, filter: SessionFilter = {}): Promise<SessionRecord> {
    const record = (await this.records(filter)).find((r) => httpRequestOf(r)?.path.includes(fragment));
    if (!record) throw new Error(`no session record for ${fragment}`);
    return record;
  }

  /** The recorded sessions matching `filter` (up to 1000, newest first), once the recording queue has drained (file store). */
  async records(filter: SessionFilter = {}): Promise<SessionRecord[]> {
    await this.proc!.recordingQueue!.flush();
    const store = await FileSessionStore.open({ dir: this.sessionsDir, readOnly: true });
    try {
      return (await store.list({ limit: 1000, ...filter })).records;
    } finally {
      await store.close();
    }
  }

  /** Stops ext-proc; `crash` cuts in-flight streams at once instead of letting them finish. */
  async stopExtProc(options: { crash?: boolean } = {}): Promise<void> {
    await this.proc?.close(options.crash ? 0 : undefined);
    this.running.proc = undefined;
  }

  async restartExtProc(): Promise<void> {
    await this.stopExtProc();
    this.running.proc = await Gateway.startProc(this.configStore.current(), this.procLogs, this.procPort, this.procAdminPort, `127.0.0.1:${this.replicas[0]!.port}`, this.issuer);
  }

  private static async startReplica(replica: Replica, config: SluiceConfig, issuer: DevIssuer, procAdminPort: number | undefined): Promise<void> {
    // A replica keeps its ports across restarts, as a real one behind a fixed address would.
    if (replica.port === 0) replica.port = await freePort();
    const adminPort = replica.approvalsUrl ? Number(new URL(replica.approvalsUrl).port) : await freePort();
    replica.service = await startExtAuthzService(config, {
      logger: replica.logs.logger,
      decisionLog: replica.decisions.logger,
      port: replica.port,
      adminPort,
      extraIssuers: [Gateway.devIssuerEntry(issuer)],
      ...(procAdminPort === undefined ? {} : { console: { extProcAdminUrl: `http://127.0.0.1:${procAdminPort}` } }),
    });
    replica.approvalsUrl = `http://127.0.0.1:${adminPort}`;
  }

  /** The first replica, for single-replica tests. */
  get logs() { return this.replicas[0]!.logs; }
  get decisions() { return this.replicas[0]!.decisions; }
  get extAuthzPort() { return this.replicas[0]!.port; }

  url(pathAndQuery: string): string {
    return `http://127.0.0.1:${this.envoy.httpPort}${pathAndQuery}`;
  }

  /** Sends a request through Envoy with an optional bearer token. */
  request(pathAndQuery: string, init: RequestInit = {}) {
    return sendRequest(this.url(pathAndQuery), init);
  }

  async stopExtAuthz(index = 0): Promise<void> {
    const replica = this.replicas[index]!;
    await replica.service?.close();
    replica.service = undefined;
  }

  async restartExtAuthz(index = 0): Promise<void> {
    await this.stopExtAuthz(index);
    await Gateway.startReplica(this.replicas[index]!, this.configStore.current(), this.issuer, this.procAdminPort);
  }

  async stop(): Promise<void> {
    await this.configStore.close();
    await this.generated.stop();
    for (const replica of this.replicas) await replica.service?.close();
    await this.proc?.close();
    await this.upstream.close();
    await this.issuer.close();
    rmSync(this.policyDir, { recursive: true, force: true });
    rmSync(path.dirname(this.secretsFile), { recursive: true, force: true });
  }
}
