import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../common/free-port.ts';
import { waitForListeners } from '../lib/ports.ts';
import { FaultIssuer } from './issuer.ts';
import { FaultTokenEndpoint } from './token-endpoint.ts';
import { FaultUpstream } from './upstream.ts';

const CLI = fileURLToPath(new URL('../../cli/sluice.ts', import.meta.url));

export const SECRETS = { 'api-token': 'api-upstream-secret-0001', 'ops-key': 'ops-upstream-secret-0001', 'partner-client': 'partner-client-secret-0001' };
/** Lifetime of the partner's OAuth2 tokens: short, so a token endpoint fault outlives the cached one. */
export const PARTNER_TOKEN_LIFETIME_S = 3;

const POLICIES = `
policies:
  - name: faults-api
    targets: [api]
    subjects: [{ issuer: faults, groups: [engineering] }]
    rules:
      - { name: read, effect: allow, methods: [GET], paths: ["/api/**"] }
      - { name: record, effect: allow, methods: [POST], paths: ["/api/records"] }
  - name: faults-denied
    description: mallory is named so the policy denies her outright.
    targets: [api, ops, partner]
    subjects: [{ issuer: faults, users: [mallory] }]
    rules:
      - { name: nothing, effect: deny, paths: ["/**"] }
  - name: faults-ops
    targets: [ops]
    subjects: [{ issuer: faults, groups: [engineering] }]
    rules:
      - name: deploy
        effect: approve
        methods: [POST]
        paths: ["/ops/deploy/**"]
        approval: { approvers: [sre], grant: request, hold: 10s }
  - name: faults-partner
    targets: [partner]
    subjects: [{ issuer: faults, groups: [engineering] }]
    rules:
      - { name: read, effect: allow, methods: [GET], paths: ["/partner/**"] }
`;

export interface Ports { http: number; admin: number; authz: number; proc: number; procAdmin: number }

export type SessionsConfig = { store: 'file'; dir: string } | { store: 'postgres'; databaseUrl: string };

/**
 * Everything the gateway talks to, the suite's own: an issuer whose JWKS can fail, an upstream
 * that counts unauthorised requests, an OAuth2 token endpoint; and `sluice gateway` itself, run
 * as an operator runs it, on a sluice.yaml written here.
 */
export class World {
  gateway: ChildProcess | undefined;
  readonly logFile: string;
  private constructor(
    readonly dir: string,
    readonly issuer: FaultIssuer,
    readonly upstream: FaultUpstream,
    readonly tokens: FaultTokenEndpoint,
    readonly ports: Ports,
  ) {
    this.logFile = path.join(dir, 'gateway.log');
  }

  static async start(): Promise<World> {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-faults-'));
    const issuer = await FaultIssuer.start();
    const tokens = await FaultTokenEndpoint.start(SECRETS['partner-client'], PARTNER_TOKEN_LIFETIME_S);
    const upstream = await FaultUpstream.start({
      apiAuthorization: `Bearer ${SECRETS['api-token']}`,
      opsApiKey: SECRETS['ops-key'],
      partnerTokenValid: (authorization) => tokens.valid(authorization),
      streamChunks: 8,
      streamGapMs: 60,
    });
    const ports = { http: await freePort(), admin: await freePort(), authz: await freePort(), proc: await freePort(), procAdmin: await freePort() };
    mkdirSync(path.join(dir, 'policies'));
    writeFileSync(path.join(dir, 'policies', 'faults.yaml'), POLICIES);
    const world = new World(dir, issuer, upstream, tokens, ports);
    world.writeSecrets();
    return world;
  }

  get secretsFile(): string {
    return path.join(this.dir, 'secrets.yaml');
  }

  get adminUrl(): string {
    return `http://127.0.0.1:${this.ports.admin}`;
  }

  url(pathAndQuery: string): string {
    return `http://127.0.0.1:${this.ports.http}${pathAndQuery}`;
  }

  /** The secrets file as an operator's deploy writes it: whole, then renamed into place. */
  writeSecrets(text = `secrets:\n${Object.entries(SECRETS).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join('\n')}\n`): void {
    const staging = `${this.secretsFile}.tmp`;
    writeFileSync(staging, text);
    renameSync(staging, this.secretsFile);
  }

  /** Writes sluice.yaml for this session store and starts `sluice gateway` on it; resolves once it serves. */
  async startGateway(sessions: SessionsConfig & { maxQueuedRecords: number }, redisUrl: string): Promise<void> {
    const target = (name: string, prefix: string) => ({ name, endpoints: [`127.0.0.1:${this.upstream.port}`], http: { pathPrefix: prefix } });
    const config = {
      targets: [target('api', '/api/'), target('ops', '/ops/'), target('partner', '/partner/')],
      issuers: [{ name: 'faults', issuer: this.issuer.url, jwksUri: `${this.issuer.url}/jwks`, audiences: ['sluice'], jwksCooldownMs: 1000, jwksCacheMaxAgeMs: 2000, fetchTimeoutMs: 500 }],
      extAuthz: { port: this.ports.authz, policyDir: 'policies' },
      envoy: { listenPort: this.ports.http, adminPort: 0, xdsDir: 'envoy', approvalTimeout: '15s' },
      admin: { port: this.ports.admin },
      extProc: {
        port: this.ports.proc,
        adminPort: this.ports.procAdmin,
        secretsFile: 'secrets.yaml',
        credentials: [
          { target: 'api', secret: 'api-token' },
          { target: 'ops', header: 'x-api-key', template: '{secret}', secret: 'ops-key' },
          { target: 'partner', oauth2: { tokenUrl: this.tokens.url, clientId: 'faults-client', clientSecret: 'partner-client', timeoutMs: 500, refreshSkewMs: 1000 } },
        ],
        masking: { profiles: [{ name: 'pii', recognizers: [{ use: 'card', strategy: 'keep-last-4' }, { use: 'email', strategy: 'redact' }] }], targets: { api: 'pii' } },
        sessions: { ...sessions, onFull: 'deny' },
      },
      approvals: { store: 'redis', redisUrl, redisKeyPrefix: 'faults:' },
      gateway: { maxRestartDelay: '2s', drainTimeout: '2s' },
      log: { level: 'warn' },
    };
    writeFileSync(path.join(this.dir, 'sluice.yaml'), JSON.stringify(config, null, 2));
    const log = openSync(this.logFile, 'a');
    this.gateway = spawn(process.execPath, ['--import', 'tsx', CLI, 'gateway', '--config', path.join(this.dir, 'sluice.yaml')], { stdio: ['ignore', log, log] });
    await waitForListeners({ 'gateway admin': this.ports.admin, envoy: this.ports.http }, 60_000);
    await this.waitReady(60_000);
  }

  /** Until the gateway's /readyz answers 200 (every child up and ready). */
  async waitReady(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const ok = await fetch(`${this.adminUrl}/readyz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
      if (ok) return true;
      await sleep(200);
    }
    return false;
  }

  /** The gateway's children, from its /status admin endpoint. */
  async children(): Promise<{ name: string; state: string; pid: number | null; restarts: number }[]> {
    const res = await fetch(`${this.adminUrl}/status`, { signal: AbortSignal.timeout(2000) });
    return ((await res.json()) as { children: { name: string; state: string; pid: number | null; restarts: number }[] }).children;
  }

  async pidOf(name: 'ext-authz' | 'ext-proc' | 'envoy'): Promise<number> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const child = (await this.children().catch(() => [])).find((c) => c.name === name);
      if (child?.pid) return child.pid;
      await sleep(100);
    }
    throw new Error(`the gateway reports no running ${name}`);
  }

  async stopGateway(): Promise<void> {
    const gateway = this.gateway;
    this.gateway = undefined;
    if (!gateway || gateway.exitCode !== null) return;
    gateway.kill('SIGTERM');
    await new Promise((resolve) => { gateway.once('exit', resolve); setTimeout(resolve, 15_000); });
  }

  async close(): Promise<void> {
    await this.stopGateway();
    await this.issuer.close();
    await this.upstream.close();
    await this.tokens.close();
  }
}
