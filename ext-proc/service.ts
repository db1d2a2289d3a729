import path from 'node:path';
import type { Registry } from 'prom-client';
import { startAdminServer, type AdminServer } from '../common/admin-server.ts';
import { createServiceRegistry, registerMetricsRoute } from '../common/metrics/index.ts';
import type { ConfigSubscriber, SluiceConfig } from '../common/config.ts';
import { describeError, isSluiceError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { DrainSettings } from '../common/grpc-server.ts';
import { compileCredentials } from './credentials.ts';
import { ChainSecretStore } from './secrets/chain-secret-store.ts';
import { EnvSecretStore } from './secrets/env-secret-store.ts';
import { FileSecretStore } from './secrets/file-secret-store.ts';
import type { SecretStore } from './secrets/types.ts';
import { SecretVersions } from './secrets/secret-versions.ts';
import { loadVersionKey } from './secrets/version-key.ts';
import type { RecordingQueue } from './sessions/index.ts';
import { startExtProcServer } from './server.ts';
import { compileMaskingPlans } from './masking-plans.ts';
import { journalInstance, startRecording, type Recording } from './recording-setup.ts';
import type { IdentityVerifier } from '../ext-authz/identity/types.ts';
import { registerSessionsApi, type SessionReader } from './sessions-api/index.ts';
import { extProcMetrics } from './metrics.ts';
import { serviceEndpoints } from '../envoy/from-config.ts';
import { grpcTarget } from '../common/grpc-target.ts';
import { PgAuthzClient } from './postgres/authz-client.ts';
import { pgSessionOpener } from './postgres/runtime.ts';
import { SessionRoleRegistry } from './postgres/session-roles/registry.ts';
import { hostname } from 'node:os';
import type { PgSessionOpener } from './postgres/network-stream.ts';
import { RedisAuthzClient } from './redis/authz-client.ts';
import { redisSessionOpener } from './redis/runtime.ts';

export interface ExtProcServiceOptions {
  logger: Logger;
  /** Overrides config.extProc.port (tests pass 0). */
  port?: number;
  env?: NodeJS.ProcessEnv;
  /** Starts the admin server (/healthz, /readyz, /metrics) on this port, on config.extProc.host; off when absent. */
  adminPort?: number;
  /** Adds the sessions read API to the admin server (needs `adminPort` and recording on). */
  sessionsApi?: { verifier: IdentityVerifier; readers: readonly SessionReader[] };
  /** Where PostgreSQL and Redis sessions ask ext-authz (a grpc-js target); default: every extAuthz.endpoints entry, else extAuthz host:port. */
  extAuthzAddress?: string;
  /**
   * This replica's id, written on every per-session role it mints; on start it sweeps its own
   * leftovers. Default: SLUICE_REPLICA_ID, else the host name (a pod name). Two ext-procs must
   * never share one.
   */
  replicaId?: string;
}

export interface ExtProcService {
  port: number;
  /** Port of the admin server, when one was asked for. */
  adminPort: number | undefined;
  /** This service's metrics (`service="ext-proc"`), as /metrics serves them; kept even without an admin server, for a supervisor to merge. */
  metrics: Registry;
  secrets: SecretStore;
  /** The version of each secret (keyed hash under the gateway's version key), for audit records. */
  versions: SecretVersions;
  /** The watched secrets file, when one is configured. */
  secretsFile: FileSecretStore | undefined;
  /** The session recording queue, unless recording is off. */
  recordingQueue: RecordingQueue | undefined;
  /** The start-up sweep of leftover per-session roles (errors are logged, never thrown). */
  sessionRolesSwept: Promise<void>;
  /** Follows sluice.yaml: credentials and masking profiles are recompiled and swapped on a reload. */
  configSubscriber: ConfigSubscriber;
  /**
   * Stops; in-flight exchanges get `graceMs` to finish (0 = cut them now, as a crash would). With
   * `drain` (SIGTERM) instead, gracefully: NOT_SERVING on gRPC health and /readyz, serving on for
   * the delay, then in-flight exchanges finish within the timeout; their records are then flushed.
   */
  close(graceMs?: number, options?: { drain?: DrainSettings }): Promise<void>;
}

/** Wires config → secret stores (watched file, then environment) + credential plans → gRPC server. */
export async function startExtProcService(config: SluiceConfig, options: ExtProcServiceOptions): Promise<ExtProcService> {
  const registry = createServiceRegistry('ext-proc');
  const metrics = extProcMetrics(registry);
  const file = config.extProc.secretsFile
    ? await FileSecretStore.open(path.resolve(config.baseDir, config.extProc.secretsFile), { logger: options.logger })
    : undefined;
  const secrets = new ChainSecretStore([...(file ? [file] : []), new EnvSecretStore(options.env)]);
  let versions: SecretVersions;
  try {
    const key = await loadVersionKey({
      secrets,
      secretName: config.extProc.versionKeySecret,
      file: path.resolve(config.baseDir, config.extProc.versionKeyFile),
      logger: options.logger,
    });
    versions = new SecretVersions(secrets, key);
  } catch (err) {
    await secrets.close();
    throw err;
  }
  file?.reportVersions((value) => versions.of(value));
  file?.onReload((ok) => metrics.secretReloads.cell(ok ? 'ok' : 'rejected').inc());
  // The plans an exchange is processed with; a config reload swaps both at once. Each exchange
  // reads them once, at its request headers, so it never mixes two configs.
  const live = { credentials: compileCredentials(config.extProc.credentials, secrets, undefined, metrics), masking: compileMaskingPlans(config.extProc.masking, secrets), targets: config.targets };
  // Every listed replica as one grpc-js target that fails over (ipv4:a,b), or the first address
  // (in Kubernetes, the ext-authz Service name, which gRPC resolves).
  const authzAddress = options.extAuthzAddress ?? grpcTarget(serviceEndpoints(config).extAuthz);
  const pgAuthorizer = new PgAuthzClient(authzAddress);
  const sessionRoles = new SessionRoleRegistry({ secrets, replica: options.replicaId ?? (options.env ?? process.env).SLUICE_REPLICA_ID ?? hostname(), logger: options.logger });
  const redisAuthorizer = new RedisAuthzClient(authzAddress);
  const replicaId = options.replicaId ?? (options.env ?? process.env).SLUICE_REPLICA_ID;
  const recording = await startRecording(config, options.logger, secrets, journalInstance(replicaId, options.port ?? config.extProc.port));
  if (recording) metrics.watchRecordingQueue(() => recording.queue.stats());
  let admin: AdminServer | undefined;
  let serving = false;
  let server: Awaited<ReturnType<typeof startExtProcServer>> | undefined;
  try {
    if (options.adminPort !== undefined) {
      admin = await startAdminServer({ host: config.extProc.host, port: options.adminPort, logger: options.logger });
      registerMetricsRoute(admin, registry);
      registerReadiness(admin, { file, recording, serving: () => (server?.draining ? 'draining' : serving), logger: options.logger });
      if (options.sessionsApi && recording) {
        registerSessionsApi(admin, { store: recording.store, verifier: options.sessionsApi.verifier, readers: options.sessionsApi.readers, logger: options.logger });
      } else if (options.sessionsApi) {
        options.logger.warn('the sessions API is not served: session recording is off');
      }
    }
    server = await startExtProcServer({
      get credentials() { return live.credentials; },
      get masking() { return live.masking; },
      ...(recording ? { recording: { queue: recording.queue, maxBodyBytes: recording.maxBodyBytes, storedWithinMs: recording.storedWithinMs, journal: recording.journal } } : {}),
      secrets,
      versions,
      removeRequestHeaders: config.extProc.removeRequestHeaders,
      metrics: metrics.exchanges,
      postgres: networkOpener(pgSessionOpener({
        get targets() { return live.targets; },
        get credentials() { return live.credentials; },
        get masking() { return live.masking; },
        secrets,
        versions,
        recording: recording?.queue,
        authorizer: pgAuthorizer,
        logger: options.logger,
        sessionRoles: (target) => sessionRoles.for(target),
      }), redisSessionOpener({
        get targets() { return live.targets; },
        get masking() { return live.masking; },
        recording: recording?.queue,
        authorizer: redisAuthorizer,
        logger: options.logger,
      })),
      // Without an admin server, the gRPC server itself is all there is to be ready.
      ...(admin ? { ready: () => admin!.ready() } : {}),
      logger: options.logger,
      host: config.extProc.host,
      port: options.port ?? config.extProc.port,
    });
  } catch (err) {
    // A service that fails to start must not leave its admin port bound (a retry would hit EADDRINUSE).
    pgAuthorizer.close();
    await sessionRoles.close();
    redisAuthorizer.close();
    await admin?.close();
    await recording?.close();
    await secrets.close();
    throw err;
  }
  serving = true;
  // Leftovers of this replica's last run, and expired ones, go now; logins do not wait for it.
  const sessionRolesSwept = sessionRoles.apply(config.targets);
  options.logger.info({ port: server.port, adminPort: admin?.port, credentials: [...live.credentials.keys()], masking: { profiles: [...live.masking.profiles.keys()] } }, 'ext-proc listening');
  const configSubscriber: ConfigSubscriber = {
    name: 'ext-proc credentials and masking',
    check: async (next) => {
      try {
        compileMaskingPlans(next.extProc.masking, secrets);
        return { ok: true };
      } catch (err) {
        return { ok: false, reason: describeError(err).message };
      }
    },
    apply: async (next) => {
      live.credentials = compileCredentials(next.extProc.credentials, secrets, live.credentials, metrics);
      live.masking = compileMaskingPlans(next.extProc.masking, secrets);
      live.targets = next.targets;
      void sessionRoles.apply(next.targets);
      options.logger.info({ credentials: [...live.credentials.keys()], masking: [...live.masking.profiles.keys()] }, 'ext-proc plans reloaded');
      return { ok: true };
    },
  };
  return {
    configSubscriber,
    port: server.port,
    adminPort: admin?.port,
    metrics: registry,
    secrets,
    versions,
    secretsFile: file,
    recordingQueue: recording?.queue,
    sessionRolesSwept,
    close: async (graceMs?: number, closeOptions = {}) => {
      if (closeOptions.drain) await server.drain(closeOptions.drain);
      await server.close(graceMs);
      // Sessions have ended: their roles are released (and any still live with them).
      await sessionRoles.close();
      pgAuthorizer.close();
      redisAuthorizer.close();
      await admin?.close();
      await recording?.close();
      await secrets.close();
    },
  };
}

/** Any well-formed id will do: a lookup that answers at all proves the store is reachable. */
const PROBE_SESSION_ID = '00000000-0000-4000-8000-000000000000';

function registerReadiness(admin: AdminServer, deps: { file: FileSecretStore | undefined; recording: Recording | undefined; serving: () => boolean | 'draining'; logger: Logger }): void {
  const { file, recording } = deps;
  admin.readiness('grpc', async () => {
    const state = deps.serving();
    if (state === 'draining') return { ok: false, detail: 'draining: shutting down' };
    return state ? { ok: true } : { ok: false, detail: 'the ext_proc gRPC server is not listening yet' };
  });
  let lastReloadOk = true;
  file?.onReload((ok) => (lastReloadOk = ok));
  // The file was read when the service opened it; a failed reload keeps the last good secrets live.
  admin.readiness('secrets', async () => {
    if (!file) return { ok: true, detail: 'environment only' };
    return { ok: true, detail: lastReloadOk ? `${file.size} from the watched file` : `${file.size} from the last good read; the latest edit does not load` };
  });
  if (!recording) return;
  admin.readiness('session-store', async () => {
    const { queued } = recording.queue.stats();
    try {
      await recording.store.get(PROBE_SESSION_ID);
      return { ok: true, detail: `${queued} queued` };
    } catch (err) {
      // The store's message names hosts and paths: the log gets it, the probe a fixed line.
      if (isSluiceError(err) && err.code === 'ERR_SESSION_STORE_UNAVAILABLE') {
        deps.logger.warn({ err: describeError(err) }, 'session store unreachable');
        return { ok: false, detail: `the session store is unreachable; ${queued} queued` };
      }
      throw err;
    }
  });
}

/** Network ext_proc streams by the protocol their listener names: redis command checks, else PostgreSQL. */
function networkOpener(postgres: PgSessionOpener, redis: ReturnType<typeof redisSessionOpener>): PgSessionOpener {
  return (target, send, connection) => (connection.protocol === 'redis' ? redis(target, send, connection.redisRecording) : postgres(target, send, connection));
}
