import { mkdtempSync, mkdirSync, cpSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../common/config.ts';
import { renderGateway } from '../../envoy/render.ts';
import { DevIssuer } from '../../dev/dev-issuer.ts';
import { DemoUpstream } from '../../dev/demo-upstream.ts';
import { startExtAuthzService, type ExtAuthzService } from '../../ext-authz/service.ts';
import { startExtProcService, type ExtProcService } from '../../ext-proc/service.ts';
import { startEnvoyUnderTest, type EnvoyUnderTest } from './envoy-runtime.ts';
import { capturedLogger } from './log-capture.ts';
import { freePort } from '../../common/free-port.ts';

const REPO_POLICIES = fileURLToPath(new URL('../../policies/', import.meta.url));

/** The real credentials the e2e upstream expects; callers never hold them. */
export const TEST_SECRETS = { 'demo-api-token': 'demo-upstream-secret-0001', 'ops-api-key': 'ops-upstream-secret-0001' };

/** Credential plans of the e2e gateway: demo-api takes a bearer token, ops-api an API key header. */
const TEST_CREDENTIALS = [
  { target: 'demo-api', header: 'authorization', template: 'Bearer {secret}', secret: 'demo-api-token' },
  { target: 'ops-api', header: 'x-api-key', template: '{secret}', secret: 'ops-api-key' },
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
 * The e2e fixture: a local OIDC issuer, a recording upstream, ext-authz replicas and a real Envoy
 * in front of them. Logs from each replica are captured so tests can search them for secrets.
 */
export class Gateway {
  private constructor(
    readonly issuer: DevIssuer,
    readonly upstream: DemoUpstream,
    readonly replicas: Replica[],
    readonly envoy: EnvoyUnderTest,
    readonly policyDir: string,
    private readonly options: GatewayOptions,
    public proc: ExtProcService | undefined,
    readonly procLogs: ReturnType<typeof capturedLogger>,
    readonly secretsFile: string,
    private readonly procPort: number,
  ) {}

  static async start(options: GatewayOptions = {}): Promise<Gateway> {
    const policyDir = mkdtempSync(path.join(tmpdir(), 'sluice-policies-'));
    cpSync(options.policySource ?? REPO_POLICIES, policyDir, { recursive: true });
    for (const [name, text] of Object.entries(options.extraPolicies ?? {})) writeFileSync(path.join(policyDir, name), text);
    const issuer = await DevIssuer.start();
    const upstream = await DemoUpstream.start();
    const replicas: Replica[] = [];
    for (let i = 0; i < (options.replicas ?? 1); i++) {
      const replica: Replica = { port: 0, service: undefined, logs: capturedLogger(`ext-authz-${i}`), decisions: capturedLogger(`decision-${i}`), approvalsUrl: '' };
      await Gateway.startReplica(replica, policyDir, issuer, options);
      replicas.push(replica);
    }
    const secretsFile = path.join(mkdtempSync(path.join(tmpdir(), 'sluice-secrets-')), 'secrets.yaml');
    Gateway.writeSecretsFile(secretsFile, { ...TEST_SECRETS, ...options.secrets });
    const procLogs = capturedLogger('ext-proc');
    const procPort = await freePort();
    const proc = await Gateway.startProc(policyDir, secretsFile, procLogs, procPort, options);
    const envoy = await startEnvoyUnderTest((ctx) => renderGateway({
      listenAddress: ctx.listenAddress,
      listenPort: ctx.listenPort,
      adminAddress: ctx.listenAddress,
      adminPort: ctx.adminPort,
      extAuthz: replicas.map((r) => ({ host: ctx.servicesHost, port: r.port })),
      extProc: { host: ctx.servicesHost, port: procPort },
      upstream: { host: ctx.servicesHost, port: upstream.address.port },
      extAuthzTimeout: options.extAuthzTimeout ?? '1s',
      approvalTimeout: options.approvalTimeout ?? '30s',
      ...(options.routeIdleTimeout ? { routeIdleTimeout: options.routeIdleTimeout } : {}),
    }), [...replicas.map((r) => r.port), procPort, upstream.address.port]);
    return new Gateway(issuer, upstream, replicas, envoy, policyDir, options, proc, procLogs, secretsFile, procPort);
  }

  private static startProc(policyDir: string, secretsFile: string, logs: ReturnType<typeof capturedLogger>, port: number, options: GatewayOptions): Promise<ExtProcService> {
    const sessions = options.sessions ?? { store: 'file', dir: path.join(path.dirname(secretsFile), 'sessions') };
    const replaced = new Set((options.credentials ?? []).map((c) => c.target));
    const credentials = [...TEST_CREDENTIALS.filter((c) => !replaced.has(c.target)), ...(options.credentials ?? [])];
    const masking = options.masking ?? { profiles: [], targets: {} };
    const extProc = { secretsFile, credentials, sessions, masking };
    const config = parseConfig(JSON.stringify({ extProc }), path.join(policyDir, 'sluice.yaml'));
    return startExtProcService(config, { logger: logs.logger, port, env: {} });
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

  /** Stops ext-proc; `crash` cuts in-flight streams at once instead of letting them finish. */
  async stopExtProc(options: { crash?: boolean } = {}): Promise<void> {
    await this.proc?.close(options.crash ? 0 : undefined);
    this.proc = undefined;
  }

  async restartExtProc(): Promise<void> {
    await this.stopExtProc();
    this.proc = await Gateway.startProc(this.policyDir, this.secretsFile, this.procLogs, this.procPort, this.options);
  }

  private static async startReplica(replica: Replica, policyDir: string, issuer: DevIssuer, options: GatewayOptions): Promise<void> {
    const approvals = options.approvals ?? { store: 'memory' };
    // A replica keeps its ports across restarts, as a real one behind a fixed address would.
    if (replica.port === 0) replica.port = await freePort();
    const approvalsPort = replica.approvalsUrl ? Number(new URL(replica.approvalsUrl).port) : await freePort();
    const config = parseConfig(JSON.stringify({
      extAuthz: { policyDir },
      // Both services read one sluice.yaml: ext-authz checks policies against these profile names.
      extProc: { masking: options.masking ?? { profiles: [], targets: {} } },
      approvals: {
        ...(approvals.store === 'redis'
          ? { store: 'redis', redisUrl: approvals.redisUrl, redisKeyPrefix: approvals.keyPrefix }
          : { store: 'memory' }),
        port: approvalsPort,
        webhooks: approvals.webhooks ?? [],
      },
    }), path.join(policyDir, 'sluice.yaml'));
    replica.service = await startExtAuthzService(config, {
      logger: replica.logs.logger,
      decisionLog: replica.decisions.logger,
      port: replica.port,
      extraIssuers: [{ name: 'dev', issuer: issuer.url, audiences: ['sluice'], jwksCooldownMs: 1000, jwksCacheMaxAgeMs: 1000 }],
    });
    replica.approvalsUrl = `http://127.0.0.1:${approvalsPort}`;
  }

  /** The first replica, for single-replica tests. */
  get logs() { return this.replicas[0]!.logs; }
  get decisions() { return this.replicas[0]!.decisions; }
  get extAuthzPort() { return this.replicas[0]!.port; }

  url(pathAndQuery: string): string {
    return `http://127.0.0.1:${this.envoy.httpPort}${pathAndQuery}`;
  }

  /** Sends a request through Envoy with an optional bearer token. */
  async request(pathAndQuery: string, init: { method?: string; token?: string; headers?: Record<string, string>; body?: string } = {}) {
    const headers: Record<string, string> = { ...init.headers };
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
    const response = await fetch(this.url(pathAndQuery), { method: init.method ?? 'GET', headers, body: init.body });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as any };
  }

  async stopExtAuthz(index = 0): Promise<void> {
    const replica = this.replicas[index]!;
    await replica.service?.close();
    replica.service = undefined;
  }

  async restartExtAuthz(index = 0): Promise<void> {
    await this.stopExtAuthz(index);
    await Gateway.startReplica(this.replicas[index]!, this.policyDir, this.issuer, this.options);
  }

  async stop(): Promise<void> {
    await this.envoy.stop();
    for (const replica of this.replicas) await replica.service?.close();
    await this.proc?.close();
    await this.upstream.close();
    await this.issuer.close();
    rmSync(this.policyDir, { recursive: true, force: true });
    rmSync(path.dirname(this.secretsFile), { recursive: true, force: true });
  }
}
