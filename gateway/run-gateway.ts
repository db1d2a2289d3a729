import path from 'node:path';
import { startAdminServer, type AdminServer } from '../common/admin-server.ts';
import { ConfigStore, type SluiceConfig } from '../common/config.ts';
import { startEnvoy } from '../common/envoy-process.ts';
import type { EnvoyBinary } from '../common/envoy-bin.ts';
import { describeError } from '../common/errors.ts';
import { freePort } from '../common/free-port.ts';
import type { Logger } from '../common/logger.ts';
import { sendJson } from '../common/http.ts';
import { PolicyStore } from '../ext-authz/policy/index.ts';
import { policyContext, policyContextSubscriber } from '../ext-authz/policy-context.ts';
import { startGeneratedEnvoy, type GeneratedEnvoy } from '../envoy/run.ts';
import { reachable } from '../envoy/from-config.ts';
import { proxyTo } from './admin-proxy.ts';
import { drainEnvoy, envoyRun, type EnvoyRun } from './envoy-child.ts';
import { startNodeChild } from './node-child.ts';
import { RestartBackoff } from './restart-backoff.ts';
import { Supervised, type ChildRun, type ChildStatus } from './supervised.ts';
import { childReadiness, envoyReadiness } from './readiness.ts';
import { gatewayMetrics, scrapeAll } from './metrics.ts';
import { createServiceRegistry } from '../common/metrics/index.ts';
import { EXT_PROC_ENV, EXT_PROC_NODE_FLAGS } from './ext-proc-runtime.ts';

export interface GatewayOptions {
  config: SluiceConfig;
  logger: Logger;
  binary: EnvoyBinary;
}

export interface RunningGateway {
  envoy: () => EnvoyRun | undefined;
  adminPort: number;
  /** Where the children's own admin servers listen (loopback, internal). */
  childAdmin: { extAuthz: string; extProc: string };
  xdsDir: string;
  status(): ChildStatus[];
  /** Drains Envoy (listeners closed, in-flight requests get up to drainTimeout), then stops everything. */
  stop(reason: string): Promise<void>;
}

/** Each child's grace on stop: ext-authz and ext-proc close their gRPC servers within it. */
const CHILD_GRACE_MS = 5000;

/**
 * The gateway drains Envoy before it stops its children, so no load balancer is left to notice a
 * child's NOT_SERVING: the children skip the drain delay and only let in-flight calls finish.
 */
const NO_DRAIN_DELAY = ['--drain-delay', '0s'];

/**
 * `sluice gateway`: Envoy, ext-authz and ext-proc as one supervised unit, and the admin port in
 * front of them. The children are the same `sluice ext-authz` / `sluice ext-proc` an operator
 * runs for scale-out, on the config's gRPC ports (so Envoy's clusters never change) and on
 * internal admin ports; this process only watches sluice.yaml and the policies to generate
 * Envoy's config, restarts a child that dies, and answers /healthz, /readyz, /metrics and
 * /status, passing every other admin route (the approvals API) to ext-authz.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { config, logger } = options;
  const configFile = config.file;
  const maxRestartDelayMs = Number.parseInt(config.gateway.maxRestartDelay, 10) * 1000;
  const drainTimeoutMs = Number.parseInt(config.gateway.drainTimeout, 10) * 1000;
  const backoff = () => new RestartBackoff({ maxMs: maxRestartDelayMs });
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch((err: unknown) => logger.error({ err: describeError(err) }, 'cleanup step failed'));
  };

  try {
    // Children: ports fixed for the gateway's life, so a restarted child is where Envoy expects it.
    const authzAdminPort = await freePort();
    const procAdminPort = await freePort();
    // Each child's admin server binds its service's host (admin.host, extProc.host): reached there.
    const authzAdmin = reachable(config.admin.host, authzAdminPort);
    const procAdmin = reachable(config.extProc.host, procAdminPort);
    const authzAdminUrl = `http://${authzAdmin.host}:${authzAdmin.port}`;
    const procAdminUrl = `http://${procAdmin.host}:${procAdmin.port}`;
    // The console (on ext-authz) is reached through this process's admin port, and reads sessions
    // from the ext-proc child. With admin.port 0 the address is unknown here: set console.publicUrl.
    const publicAdmin = reachable(config.admin.host, config.admin.port);
    const consoleArgs = ['--ext-proc-admin-url', procAdminUrl, ...(config.admin.port !== 0 ? ['--console-url', `http://${publicAdmin.host}:${publicAdmin.port}`] : [])];
    const authz = new Supervised<ChildRun>({
      name: 'ext-authz',
      logger,
      backoff: backoff(),
      start: () => startNodeChild({ args: ['ext-authz', '--config', configFile, '--admin-port', String(authzAdminPort), ...NO_DRAIN_DELAY, ...consoleArgs], healthUrl: `${authzAdminUrl}/healthz` }),
    });
    const proc = new Supervised<ChildRun>({
      name: 'ext-proc',
      logger,
      backoff: backoff(),
      start: () => startNodeChild({
        args: ['ext-proc', '--config', configFile, '--admin-port', String(procAdminPort), ...NO_DRAIN_DELAY],
        // ext-proc's memory settings, shared with npm run ext-proc.
        nodeFlags: [...EXT_PROC_NODE_FLAGS],
        env: { ...process.env, ...EXT_PROC_ENV },
        healthUrl: `${procAdminUrl}/healthz`,
      }),
    });
    cleanups.push(() => authz.stop(CHILD_GRACE_MS), () => proc.stop(CHILD_GRACE_MS));
    await Promise.all([authz.start(), proc.start()]);

    // What Envoy's config is generated from: sluice.yaml and the policies (their routing needs).
    const policies = await PolicyStore.openOrRefuse(path.resolve(config.baseDir, config.extAuthz.policyDir), { logger, context: policyContext(config) });
    policies.watch();
    cleanups.push(() => policies.close());
    const configStore = new ConfigStore(config, logger);
    configStore.subscribe(policyContextSubscriber('gateway policies', policies));
    cleanups.push(() => configStore.close());

    let bootstrap = '';
    const envoy = new Supervised<EnvoyRun>({ name: 'envoy', logger, backoff: backoff(), start: async () => envoyRun(await startEnvoy({ binary: options.binary, config: bootstrap, ownProcessGroup: true })) });
    const children = [authz, proc, envoy] as const;
    const status = (): ChildStatus[] => children.map((child) => child.status());
    const registry = createServiceRegistry('gateway');
    const metrics = gatewayMetrics(registry, status);
    const generated: GeneratedEnvoy<{ adminUrl: string; stop(): Promise<void> }> = await startGeneratedEnvoy({
      configStore,
      policies,
      services: { extAuthz: [reachable(config.extAuthz.host, config.extAuthz.port)], extProc: [reachable(config.extProc.host, config.extProc.port)] },
      logger,
      onPublish: (result) => metrics.published(result),
      start: async (first) => {
        // A restarted Envoy boots on the same bootstrap; the resources it points at are the latest written.
        bootstrap = first;
        const run = await envoy.start();
        return {
          get adminUrl() {
            return envoy.run?.adminUrl ?? run.adminUrl;
          },
          stop: () => envoy.stop(0),
        };
      },
    });
    cleanups.push(() => generated.stop());
    configStore.watch();

    let draining = false;
    const admin: AdminServer = await startAdminServer({
      host: config.admin.host,
      port: config.admin.port,
      logger,
      fallback: proxyTo(() => (authz.run ? authzAdmin : undefined)),
    });
    cleanups.push(() => admin.close());
    admin.readiness('gateway', async () => (draining ? { ok: false, detail: 'draining: shutting down' } : { ok: true }));
    admin.readiness('envoy', envoyReadiness(envoy, generated.publisher));
    admin.readiness('ext-authz', childReadiness(authz, authzAdminUrl));
    admin.readiness('ext-proc', childReadiness(proc, procAdminUrl));
    admin.route('GET', '/status', (_req, res) => sendJson(res, 200, { children: status() }, { 'cache-control': 'no-store' }));
    // One page for the whole unit: the gateway's families and each child's, labelled by service.
    admin.route('GET', '/metrics', async (_req, res) => {
      const body = await scrapeAll(registry, [authzAdminUrl, procAdminUrl]);
      res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
      res.end(body);
    });

    let stopping: Promise<void> | undefined;
    const stop = (reason: string) => {
      stopping ??= (async () => {
        draining = true;
        const run = envoy.run;
        if (run) {
          logger.info({ reason, drainTimeoutMs }, 'draining: listeners closed, waiting for in-flight requests');
          const result = await drainEnvoy(run.adminUrl, drainTimeoutMs).catch((err: unknown) => {
            logger.error({ err: describeError(err) }, 'drain failed; stopping now');
            return undefined;
          });
          if (result) logger[result.drained ? 'info' : 'warn'](result, result.drained ? 'drained' : 'drain deadline passed; cutting what is left');
        }
        // Envoy first (nothing new reaches the services), then the services, then the rest.
        await cleanup();
      })();
      return stopping;
    };
    return {
      envoy: () => envoy.run,
      adminPort: admin.port,
      childAdmin: { extAuthz: authzAdminUrl, extProc: procAdminUrl },
      xdsDir: generated.xdsDir,
      status,
      stop,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
