import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ReplicaSet, type ServiceReplica } from './replica-set.ts';
import { waitFor } from './wait.ts';
import { EXT_AUTHZ_CLUSTER, EXT_PROC_CLUSTER } from '../../envoy/generate/resource-types.ts';
import { PostgresSessionStore, httpRequestOf, type SessionFilter, type SessionRecord } from '../../ext-proc/sessions/index.ts';
import type { GatewayOptions } from './gateway.ts';
import { sendRequest, type RequestInit } from './http-request.ts';

/** The environment variable that puts the e2e harness gateway on the replica topology. */
export const TOPOLOGY_ENV = 'SLUICE_E2E_TOPOLOGY';

/** Where a replica-mode gateway appends what each replica served (one JSON line per gateway). */
export const SPREAD_FILE_ENV = 'SLUICE_E2E_SPREAD_FILE';

export function replicaTopology(): boolean {
  return process.env[TOPOLOGY_ENV] === 'replicas';
}

/** Gateway options the replica topology cannot honour; a suite that uses one fails at start, by name. */
const UNSUPPORTED: (keyof GatewayOptions)[] = ['extraPolicies', 'credentials', 'secrets', 'targets', 'demoApiPrefix', 'extProcAdmin', 'console'];

/**
 * Log files read as the captured loggers of the in-process gateway are: their lines, their text.
 * Lines of several replicas are merged in time order (pino's `time`), as one process would have written them.
 */
class LogFile {
  constructor(private readonly files: string[]) {}
  get lines(): string[] {
    const lines = this.files.flatMap((f) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []));
    const time = (line: string) => { try { return Number(JSON.parse(line).time) || 0; } catch { return 0; } };
    return lines.map((line, i) => ({ line, i, t: time(line) })).sort((a, b) => a.t - b.t || a.i - b.i).map((x) => x.line);
  }
  text(): string {
    return this.lines.join('\n');
  }
}

/** One ext-authz replica as the suites see it (the Gateway's Replica, without the in-process service). */
export interface ReplicaView {
  port: number;
  approvalsUrl: string;
  logs: LogFile;
  decisions: LogFile;
  readonly service: never;
}

/** Requests each replica served, summed over every Envoy (Envoy's per-host rq_total). */
export interface SpreadReport {
  envoys: number[];
  extAuthz: number[];
  extProc: number[];
}

/**
 * The harness gateway's public surface on the replica topology (SLUICE_E2E_TOPOLOGY=replicas):
 * 2 Envoys, 2 `sluice ext-authz`, 2 `sluice ext-proc` processes from test/harness/replica-set.ts,
 * approvals in Redis, sessions in PostgreSQL. Requests alternate between the Envoys; what exists
 * only in one process (the in-process services, ext-proc's queue) throws, naming replica mode.
 */
export class ReplicaGateway {
  private turn = 0;
  readonly replicas: ReplicaView[];

  private constructor(readonly set: ReplicaSet, readonly policyDir: string) {
    const dir = set.logDir;
    this.replicas = set.authz.map((r) => ({
      port: r.port,
      approvalsUrl: r.adminUrl,
      logs: new LogFile([path.join(dir, `ext-authz-${r.index}.log`)]),
      decisions: new LogFile([path.join(dir, `decisions-ext-authz-${r.index}.log`)]),
      get service(): never { throw new Error('replica mode: ext-authz runs as its own process, there is no in-process service'); },
    }));
  }

  static async start(options: GatewayOptions): Promise<ReplicaGateway> {
    const used = UNSUPPORTED.filter((k) => options[k] !== undefined);
    if (used.length > 0) throw new Error(`replica mode (${TOPOLOGY_ENV}=replicas) does not support the gateway option(s) ${used.join(', ')}`);
    const approvals = options.approvals;
    const set = await ReplicaSet.start({
      extAuthz: 2, extProc: 2, envoys: 2,
      // Stopping a replica in a suite should not wait out the production 5 s delay.
      drain: { delay: '0.5s', timeout: '10s' },
      logLevel: 'info',
      ...(options.policySource ? { policySource: options.policySource } : {}),
      ...(approvals?.store === 'redis' ? { approvals: { redisUrl: approvals.redisUrl, keyPrefix: approvals.keyPrefix } } : {}),
      editConfig: (doc) => {
        // The single gateway's issuer timing (gateway.ts devIssuerEntry), so key rotation cases behave alike.
        for (const issuer of doc.issuers) Object.assign(issuer, { jwksCooldownMs: 1000, jwksCacheMaxAgeMs: 1000 });
        if (options.extAuthzTimeout) doc.envoy.extAuthzTimeout = options.extAuthzTimeout;
        doc.envoy.approvalTimeout = options.approvalTimeout ?? '30s';
        if (options.routeIdleTimeout) doc.envoy.routeIdleTimeout = options.routeIdleTimeout;
        if (options.masking) doc.extProc.masking = options.masking;
        if (approvals?.webhooks) doc.approvals.webhooks = approvals.webhooks;
        // Sessions always go to the set's PostgreSQL; the suite's record options (body caps…) still apply.
        const { store: _store, dir: _dir, ...sessionOptions } = (options.sessions ?? {}) as Record<string, unknown>;
        doc.extProc.sessions = { ...doc.extProc.sessions, ...sessionOptions };
      },
    });
    return ReplicaGateway.strict(new ReplicaGateway(set, path.join(set.logDir, 'policies')));
  }

  /**
   * Suites hold this as a Gateway: a member the in-process gateway has and this one does not
   * (updateConfig, sessionsDir, configStore…) throws on access instead of reading as undefined.
   */
  private static strict(gateway: ReplicaGateway): ReplicaGateway {
    return new Proxy(gateway, {
      get(target, prop, receiver) {
        // `then` is how await probes for a promise; it must read as absent.
        if (typeof prop === 'string' && prop !== 'then' && !(prop in target)) throw new Error(`replica mode (${TOPOLOGY_ENV}=replicas): the harness gateway has no ${prop} here`);
        return Reflect.get(target, prop, receiver);
      },
    });
  }

  get issuer() { return this.set.issuer; }
  get upstream() { return this.set.upstream; }
  get config() { return this.set.config; }
  /** Envoy 0 (suites that open raw connections use one Envoy). */
  get envoy() { return { httpPort: this.set.envoys[0]!.httpPort }; }
  get logs(): LogFile { return new LogFile(this.set.authz.map((r) => path.join(this.set.logDir, `ext-authz-${r.index}.log`))); }
  get decisions(): LogFile { return new LogFile(this.set.authz.map((r) => path.join(this.set.logDir, `decisions-ext-authz-${r.index}.log`))); }
  get procLogs(): LogFile { return new LogFile(this.set.proc.map((r) => path.join(this.set.logDir, `ext-proc-${r.index}.log`))); }
  get extAuthzPort(): number { return this.set.authz[0]!.port; }
  get proc(): never { throw new Error('replica mode: ext-proc runs as two processes, there is no in-process service'); }

  /** The next Envoy's base URL: successive requests alternate between the Envoys. */
  url(pathAndQuery: string): string {
    const index = this.turn++ % this.set.envoys.length;
    return `${this.set.url(index)}${pathAndQuery}`;
  }

  request(pathAndQuery: string, init: RequestInit = {}) {
    return sendRequest(this.url(pathAndQuery), init);
  }

  /** Sessions recorded in the set's PostgreSQL (newest first). ext-proc's queues live in other processes: nothing to flush here. */
  async records(filter: SessionFilter = {}): Promise<SessionRecord[]> {
    const store = await PostgresSessionStore.connect({ connectionString: this.set.databaseUrl, readOnly: true, poolSize: 1 });
    try {
      return (await store.list({ limit: 1000, ...filter })).records;
    } finally {
      await store.close();
    }
  }

  /** The record of the exchange whose path contains `fragment`, waiting (5 s) for another process's queue to write it. */
  async recordFor(fragment: string, filter: SessionFilter = {}): Promise<SessionRecord> {
    const find = async () => (await this.records(filter)).find((r) => httpRequestOf(r)?.path.includes(fragment));
    const { value } = await waitFor(find, 5000, 100).catch(() => ({ value: undefined }));
    if (!value) throw new Error(`no session record for ${fragment}`);
    return value;
  }

  private authzTargets(index: number | undefined): ServiceReplica[] {
    return index === undefined ? this.set.authz : [this.set.authz[index]!];
  }

  /** Stops ext-authz replica `index`, or every replica without one (the single gateway's "ext-authz down"). */
  async stopExtAuthz(index?: number): Promise<void> {
    await Promise.all(this.authzTargets(index).map((r) => this.set.stopService(r)));
  }

  /** Restarts replica `index` (every replica without one) and waits until every Envoy routes to it. */
  async restartExtAuthz(index?: number): Promise<void> {
    for (const r of this.authzTargets(index)) {
      await this.set.stopService(r);
      await this.set.startService(r);
    }
    for (const r of this.authzTargets(index)) await this.set.waitRouted(r);
  }

  /** Per-replica request counts from every Envoy's /clusters (rq_total per host), and per-Envoy downstream requests. */
  async spread(): Promise<SpreadReport> {
    const perHost = (text: string, cluster: string, port: number) => {
      const line = text.split('\n').find((l) => l.startsWith(`${cluster}::`) && l.includes(`:${port}::rq_total::`));
      return line ? Number(line.split('::').pop()) : 0;
    };
    const report: SpreadReport = { envoys: [], extAuthz: this.set.authz.map(() => 0), extProc: this.set.proc.map(() => 0) };
    for (const e of this.set.envoys) {
      const clusters = await (await fetch(`${e.envoy.adminUrl}/clusters`)).text();
      this.set.authz.forEach((r, i) => (report.extAuthz[i]! += perHost(clusters, EXT_AUTHZ_CLUSTER, r.port)));
      this.set.proc.forEach((r, i) => (report.extProc[i]! += perHost(clusters, EXT_PROC_CLUSTER, r.port)));
      const stats = await (await fetch(`${e.envoy.adminUrl}/stats?filter=^http\\..*downstream_rq_total$`)).text();
      report.envoys.push(stats.split('\n').filter((l) => !l.includes('admin')).reduce((sum, l) => sum + (Number(l.split(': ')[1]) || 0), 0));
    }
    return report;
  }

  /**
   * Stops the set. What each replica served in this suite is printed, and appended to the file
   * SLUICE_E2E_SPREAD_FILE names (test/e2e/replica-suites.test.ts sets it and asserts, over the
   * whole run, that each Envoy and each replica of each service served requests).
   */
  async stop(): Promise<void> {
    let spread: SpreadReport | undefined;
    try {
      spread = await this.spread();
    } finally {
      await this.set.stop();
    }
    console.log(`# replica spread: envoys ${spread.envoys.join('/')} requests, ext-authz ${spread.extAuthz.join('/')}, ext-proc ${spread.extProc.join('/')}`);
    const file = process.env[SPREAD_FILE_ENV];
    if (file) appendFileSync(file, `${JSON.stringify({ suite: path.basename(process.argv[1] ?? '?'), ...spread })}\n`);
  }
}
