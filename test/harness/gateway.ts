import { mkdtempSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../common/config.ts';
import { renderGateway } from '../../envoy/render.ts';
import { DevIssuer } from '../../dev/dev-issuer.ts';
import { DemoUpstream } from '../../dev/demo-upstream.ts';
import { startExtAuthzService, type ExtAuthzService } from '../../ext-authz/service.ts';
import { startEnvoyUnderTest, type EnvoyUnderTest } from './envoy-runtime.ts';
import { capturedLogger } from './log-capture.ts';

const REPO_POLICIES = fileURLToPath(new URL('../../policies/', import.meta.url));

export interface GatewayOptions {
  /** Policy files to use; a private copy is made so tests may edit it. Default: the repo's policies/. */
  policySource?: string;
  extAuthzTimeout?: string;
  /** Port for ext-authz (so a restarted instance comes back where Envoy expects it). */
  extAuthzPort?: number;
}

/**
 * The e2e fixture: a local OIDC issuer, a recording upstream, the ext-authz service and a real
 * Envoy in front of them. Logs from ext-authz are captured so tests can search them for secrets.
 */
export class Gateway {
  private constructor(
    readonly issuer: DevIssuer,
    readonly upstream: DemoUpstream,
    public extAuthz: ExtAuthzService | undefined,
    readonly envoy: EnvoyUnderTest,
    readonly policyDir: string,
    readonly logs: ReturnType<typeof capturedLogger>,
    readonly decisions: ReturnType<typeof capturedLogger>,
    readonly extAuthzPort: number,
  ) {}

  static async start(options: GatewayOptions = {}): Promise<Gateway> {
    const policyDir = mkdtempSync(path.join(tmpdir(), 'sluice-policies-'));
    cpSync(options.policySource ?? REPO_POLICIES, policyDir, { recursive: true });
    const issuer = await DevIssuer.start();
    const upstream = await DemoUpstream.start();
    const logs = capturedLogger('ext-authz');
    const decisions = capturedLogger('decision');
    const extAuthz = await Gateway.startAuthz(policyDir, issuer, logs, decisions, options.extAuthzPort ?? 0);
    const envoy = await startEnvoyUnderTest((ctx) => renderGateway({
      listenAddress: ctx.listenAddress,
      listenPort: ctx.listenPort,
      adminAddress: ctx.listenAddress,
      adminPort: ctx.adminPort,
      extAuthz: { host: ctx.servicesHost, port: extAuthz.port },
      upstream: { host: ctx.servicesHost, port: upstream.address.port },
      extAuthzTimeout: options.extAuthzTimeout ?? '1s',
    }), [extAuthz.port, upstream.address.port]);
    return new Gateway(issuer, upstream, extAuthz, envoy, policyDir, logs, decisions, extAuthz.port);
  }

  private static startAuthz(policyDir: string, issuer: DevIssuer, logs: ReturnType<typeof capturedLogger>,
    decisions: ReturnType<typeof capturedLogger>, port: number): Promise<ExtAuthzService> {
    const config = parseConfig(`extAuthz: { policyDir: ${JSON.stringify(policyDir)} }\n`, path.join(policyDir, 'sluice.yaml'));
    return startExtAuthzService(config, {
      logger: logs.logger,
      decisionLog: decisions.logger,
      port,
      extraIssuers: [{ name: 'dev', issuer: issuer.url, audiences: ['sluice'], jwksCooldownMs: 1000, jwksCacheMaxAgeMs: 1000 }],
    });
  }

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

  async stopExtAuthz(): Promise<void> {
    await this.extAuthz?.close();
    this.extAuthz = undefined;
  }

  async restartExtAuthz(): Promise<void> {
    await this.stopExtAuthz();
    this.extAuthz = await Gateway.startAuthz(this.policyDir, this.issuer, this.logs, this.decisions, this.extAuthzPort);
  }

  async stop(): Promise<void> {
    await this.envoy.stop();
    await this.extAuthz?.close();
    await this.upstream.close();
    await this.issuer.close();
    rmSync(this.policyDir, { recursive: true, force: true });
  }
}
