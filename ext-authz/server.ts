import * as grpc from '@grpc/grpc-js';
import { addHealthService } from '../common/grpc-health.ts';
import { performance } from 'node:perf_hooks';
import { describeError } from '../common/errors.ts';
import { LazyAbort } from '../common/lazy-signal.ts';
import type { Logger } from '../common/logger.ts';
import { authorizationService, redisExternalAuthService } from '../common/protos.ts';
import { TARGET_METADATA_KEY } from '../envoy/generate/protocols/postgres.ts';
import { readRedisAuthRequest, type RedisAuthRequestMessage } from './protocols/redis/read-auth-request.ts';
import { toRedisAuthResponse } from './protocols/redis/auth-response.ts';
import { bindInsecure, runningServer, SERVER_OPTIONS } from '../common/grpc-server.ts';
import type { Authorizer } from './authorizer.ts';
import type { RunningServer } from '../common/running-server.ts';
import { adapterFor } from './protocols/index.ts';
import { logDecision } from './decision-log.ts';
import type { CheckInput } from './check-input.ts';
import type { Verdict } from './verdict.ts';
import { DecisionMetrics, extAuthzMetrics, type ExtAuthzMetrics } from './metrics.ts';

export interface ExtAuthzServerOptions {
  authorizer: Authorizer;
  logger: Logger;
  decisionLog: Logger;
  host?: string;
  port?: number;
  /** Readiness for the grpc.health.v1 service (the admin server's checks); ready when absent. */
  ready?: () => Promise<boolean>;
  /** Where decisions are counted and timed; unscraped ones when absent. */
  metrics?: Pick<ExtAuthzMetrics, 'decisions' | 'checkDuration'>;
}

/**
 * The server edge: the only place where the authorizer's verdict becomes an Envoy CheckResponse
 * (through the request's protocol adapter, ext-authz/protocols/).
 * A failure here still answers with a deny (never a gRPC error Envoy might treat differently), so
 * the request is refused whatever went wrong.
 */
export async function startExtAuthzServer(options: ExtAuthzServerOptions): Promise<RunningServer> {
  const server = new grpc.Server(SERVER_OPTIONS);
  const metrics = new DecisionMetrics(options.metrics ?? extAuthzMetrics());
  // Every answered check is logged and counted alike, whichever way it was decided.
  const decided = (request: CheckInput, verdict: Verdict, started: number) => {
    const latencyMs = performance.now() - started;
    logDecision(options.decisionLog, request, verdict, latencyMs);
    metrics.record(request, verdict, latencyMs);
  };
  // grpc.health.v1 for Envoy's health checks of ext-authz replicas.
  const health = addHealthService(server, { ready: options.ready ?? (async () => true), services: ['envoy.service.auth.v3.Authorization', 'envoy.service.redis_auth.v3.RedisProxyExternalAuth'], logger: options.logger });
  server.addService(authorizationService().service, {
    Check: (call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => {
      const started = performance.now();
      // The protocol's adapter turns what Envoy sent into the neutral input, and the verdict back.
      const adapter = adapterFor(call.request);
      const request = adapter.read(call.request);
      // The signal is made only if the check reaches a phase that can wait (common/lazy-signal.ts).
      const abort = new LazyAbort();
      // Only a cancel that arrives while we are still deciding matters; grpc-js may also report
      // one after the answer is sent, and aborting then would only cost an AbortError.
      const onCancelled = () => abort.abort();
      call.once('cancelled', onCancelled);
      options.authorizer
        .check(request, abort.signal)
        .then((verdict) => {
          call.off('cancelled', onCancelled);
          callback(null, adapter.respond(verdict, request));
          decided(request, verdict, started);
        })
        .catch((err: unknown) => {
          call.off('cancelled', onCancelled);
          options.logger.error({ err: describeError(err), request_id: request.requestId }, 'check failed; denying');
          const verdict = { kind: 'deny', code: 'ERR_INTERNAL', message: 'authorization is unavailable' } as const;
          callback(null, adapter.respond(verdict, request));
          decided(request, verdict, started);
        });
    },
  });
  // redis_proxy's external auth: one call per AUTH, the target named in the call's metadata.
  server.addService(redisExternalAuthService().service, {
    Authenticate: (call: grpc.ServerUnaryCall<RedisAuthRequestMessage, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = performance.now();
      const request = readRedisAuthRequest(call.request, String(call.metadata.get(TARGET_METADATA_KEY)[0] ?? ''));
      const abort = new LazyAbort();
      const onCancelled = () => abort.abort();
      call.once('cancelled', onCancelled);
      const answer = (verdict: Verdict) => {
        call.off('cancelled', onCancelled);
        callback(null, toRedisAuthResponse(verdict, request));
        decided(request, verdict, started);
      };
      options.authorizer.check(request, abort.signal).then(answer, (err: unknown) => {
        options.logger.error({ err: describeError(err), target: request.target }, 'redis auth check failed; denying');
        answer({ kind: 'deny', code: 'ERR_INTERNAL', message: 'authorization is unavailable' });
      });
    },
  });
  const port = await bindInsecure(server, options.host ?? '127.0.0.1', options.port ?? 0);
  return runningServer(server, port, health, options.logger);
}
