import path from 'node:path';
import type { Registry } from 'prom-client';
import { startAdminServer } from '../common/admin-server.ts';
import { createServiceRegistry, registerMetricsRoute } from '../common/metrics/index.ts';
import type { Logger } from '../common/logger.ts';
import type { ConfigSubscriber, SluiceConfig } from '../common/config.ts';
import { JwtIdentityVerifier, parseIssuerConfig } from './identity/index.ts';
import type { IssuerConfig } from './identity/types.ts';
import { PolicyStore, type ReloadResult } from './policy/index.ts';
import { policyContext, policyContextSubscriber } from './policy-context.ts';
import { Authorizer } from './authorizer.ts';
import { startExtAuthzServer } from './server.ts';
import { startApprovals, type Approvals } from './approvals-setup.ts';
import type { RunningServer } from '../common/running-server.ts';
import type { DrainSettings } from '../common/grpc-server.ts';
import { extAuthzMetrics } from './metrics.ts';
import { ApprovalFeed } from '../console/approval-feed.ts';
import { startConsole } from '../console/setup.ts';

export interface ExtAuthzService {
  port: number;
  /** Port of the admin server: /healthz, /readyz, /metrics and the approvals API. */
  adminPort: number;
  /** This service's metrics (`service="ext-authz"`), as /metrics serves them; a supervisor may merge them. */
  metrics: Registry;
  policies: PolicyStore;
  /** Follows sluice.yaml: its targets and masking defaults are what policies are checked against. */
  configSubscriber: ConfigSubscriber;
  /**
   * Stops. With `drain` (SIGTERM), gracefully: NOT_SERVING on gRPC health and /readyz, serving on
   * for the delay, then in-flight checks (approval holds too) finish within the timeout; the
   * admin server (approvals API) stays up until then.
   */
  close(options?: { drain?: DrainSettings }): Promise<void>;
}

export interface ExtAuthzServiceOptions {
  logger: Logger;
  decisionLog: Logger;
  /** Issuers added at run time (the dev issuer, whose URL is known only once it listens). */
  extraIssuers?: unknown[];
  /** Overrides config.extAuthz.port (tests pass 0). */
  port?: number;
  /** Overrides the admin port (replicas on one machine each need their own). */
  adminPort?: number;
  fetch?: typeof fetch;
  /** The console's public origin and ext-proc's admin URL, when a supervisor knows them better than sluice.yaml. */
  console?: { publicUrl?: string; extProcAdminUrl?: string };
}

/** Wires config → identity verifier + policy store → authorizer → gRPC server. */
export async function startExtAuthzService(config: SluiceConfig, options: ExtAuthzServiceOptions): Promise<ExtAuthzService> {
  // sluice.yaml's issuers were validated with the file; run-time ones (the dev issuer) here.
  const issuers: IssuerConfig[] = [...config.issuers, ...(options.extraIssuers ?? []).map((raw, i) => parseIssuerConfig(raw, `extra issuer ${i}`))];
  if (issuers.length === 0) options.logger.warn('no issuers configured: every request will be denied');

  const registry = createServiceRegistry('ext-authz');
  const metrics = extAuthzMetrics(registry);
  const verifier = new JwtIdentityVerifier({
    issuers,
    maxTokenBytes: config.extAuthz.maxTokenBytes,
    cacheMaxEntries: config.extAuthz.tokenCacheEntries,
    logger: options.logger,
    metrics,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const policyDir = path.resolve(config.baseDir, config.extAuthz.policyDir);
  // A directory that does not load at start still lets the service start, refusing every request
  // and not ready until an edit loads: the operator sees why on /readyz and in the log.
  const policies = await PolicyStore.openOrRefuse(policyDir, { logger: options.logger, context: policyContext(config) });
  policies.watch();
  // The first token of each issuer should not wait for its keys.
  void verifier.issuerKeys().catch(() => undefined);

  // One admin server for the whole service; components (approvals, health) register on it.
  const admin = await startAdminServer({ host: config.admin.host, port: options.adminPort ?? config.admin.port, logger: options.logger }).catch(async (err: unknown) => {
    await policies.close();
    throw err;
  });
  registerMetricsRoute(admin, registry);
  let lastReload: ReloadResult | undefined;
  policies.onReload((result) => (lastReload = result));
  admin.readiness('policies', async () => {
    if (!policies.loaded) return { ok: false, detail: `no policy has loaded: ${policies.current().unavailable}` };
    // A broken edit keeps the last good bundle live, and that bundle still decides correctly: ready.
    const stale = lastReload !== undefined && !lastReload.ok;
    return { ok: true, detail: stale ? 'serving the last good bundle; the latest edit does not load' : 'loaded' };
  });
  admin.readiness('issuers', async () => {
    const keys = await verifier.issuerKeys();
    if (keys.length === 0) return { ok: true, detail: 'no issuers configured: every request is denied' };
    const missing = keys.filter((k) => !k.ok);
    return { ok: missing.length === 0, detail: keys.map((k) => `${k.issuer}: ${k.detail}`).join('; ') };
  });

  let serving = false;
  admin.readiness('grpc', async () => {
    if (server?.draining) return { ok: false, detail: 'draining: shutting down' };
    return serving ? { ok: true } : { ok: false, detail: 'the ext_authz gRPC server is not listening yet' };
  });

  let approvals: Approvals | undefined;
  let operatorConsole: { close(): void } | undefined;
  let server: RunningServer | undefined;
  try {
    // The console hears of held and decided requests as one more approvals notifier.
    const feed = config.console.enabled ? new ApprovalFeed() : undefined;
    approvals = await startApprovals(config, { admin, verifier, logger: options.logger, decisionLog: options.decisionLog, metrics, ...(feed ? { notifiers: [feed] } : {}) });
    if (feed) {
      operatorConsole = startConsole({
        config, admin, issuers, verifier, store: approvals.store, feed, policies, metrics: registry, logger: options.logger,
        ...(options.console?.publicUrl ? { publicUrl: options.console.publicUrl } : {}),
        ...(options.console?.extProcAdminUrl ? { extProcAdminUrl: options.console.extProcAdminUrl } : {}),
      });
    }
    const authorizer = new Authorizer({ verifier, policies: () => policies.current(), logger: options.logger, approvals: approvals.gate });
    server = await startExtAuthzServer({
      authorizer,
      logger: options.logger,
      decisionLog: options.decisionLog,
      metrics,
      ready: () => admin.ready(),
      host: config.extAuthz.host,
      port: options.port ?? config.extAuthz.port,
    });
  } catch (err) {
    // A service that fails to start must not leave its admin port bound (a retry would hit EADDRINUSE).
    operatorConsole?.close();
    await admin.close();
    await approvals?.close();
    await policies.close();
    throw err;
  }
  serving = true;
  options.logger.info({ port: server.port, adminPort: admin.port, issuers: issuers.map((i) => i.name), policyDir }, 'ext-authz listening');
  const configSubscriber = policyContextSubscriber('ext-authz policies', policies);
  return {
    port: server.port,
    adminPort: admin.port,
    metrics: registry,
    policies,
    configSubscriber,
    close: async (closeOptions = {}) => {
      if (closeOptions.drain) await server!.drain(closeOptions.drain);
      operatorConsole?.close();
      await server!.close();
      await admin.close();
      await approvals!.close();
      await policies.close();
    },
  };
}
