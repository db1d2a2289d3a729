import * as grpc from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HealthReporter } from './grpc-health.ts';
import type { Logger } from './logger.ts';
import type { RunningServer } from './running-server.ts';

/** Binds a gRPC server on host:port (0 = any free port) without TLS, resolving with the bound port. */
export function bindInsecure(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(err);
      else resolve(bound);
    });
  });
}

/** Stops accepting calls and waits for in-flight ones, up to `graceMs`, then forces the rest closed. */
export function shutdown(server: grpc.Server, graceMs = 2000): Promise<void> {
  if (graceMs <= 0) {
    server.forceShutdown();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** How a replica leaves: sluice.yaml `extAuthz.drain` / `extProc.drain`, in milliseconds. */
export interface DrainSettings {
  /**
   * How long the replica keeps serving new calls after it reports NOT_SERVING: long enough for
   * every Envoy's health check to take it out of the cluster (see envoy/generate/service-clusters.ts),
   * so no new call meets the GOAWAY that follows.
   */
  delayMs: number;
  /** How long calls in flight at the GOAWAY may take to finish (approval holds are long); then they are cut. */
  timeoutMs: number;
}

export interface DrainReport {
  /** From NOT_SERVING to the last call finished (or cut). */
  drainMs: number;
  /** Of which, waiting for in-flight calls after the GOAWAY. */
  inFlightMs: number;
  /** True when calls were still running at the timeout and were cut. */
  forced: boolean;
}

/**
 * A graceful drain, in this order: report NOT_SERVING (health Check and Watch, and whatever else
 * reads `health.draining`, such as /readyz); keep serving for `delayMs` while the load balancers
 * notice; then stop taking new streams (GOAWAY, tryShutdown) and let in-flight calls finish for up
 * to `timeoutMs`; whatever is left is cut (forceShutdown). Shared by ext-authz and ext-proc.
 */
export async function drain(server: grpc.Server, health: HealthReporter, settings: DrainSettings, logger: Logger): Promise<DrainReport> {
  const started = performance.now();
  health.drain();
  logger.info({ delayMs: settings.delayMs, timeoutMs: settings.timeoutMs }, 'draining: health answers NOT_SERVING, still serving until the load balancers take this replica out');
  if (settings.delayMs > 0) await sleep(settings.delayMs);
  const goaway = performance.now();
  health.endWatches();
  let forced = false;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      forced = true;
      server.forceShutdown();
      resolve();
    }, settings.timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  const done = performance.now();
  const report = { drainMs: Math.round(done - started), inFlightMs: Math.round(done - goaway), forced };
  logger[forced ? 'warn' : 'info'](report, forced ? 'drain timeout passed; calls still in flight were cut' : 'drained: every in-flight call finished');
  return report;
}

/** Server options tuned for a single local Envoy peer that keeps one HTTP/2 connection busy. */
export const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': 4 * 1024 * 1024,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 10_000,
};

/** The RunningServer of a bound gRPC server and its health service: close (now, or within a grace) or drain. */
export function runningServer(server: grpc.Server, port: number, health: HealthReporter, logger: Logger): RunningServer {
  // Whichever ran first stops the server; a close after a drain has nothing left to do.
  let stopped: Promise<unknown> | undefined;
  let drained: Promise<DrainReport> | undefined;
  return {
    port,
    close: async (graceMs?: number) => {
      stopped ??= shutdown(server, graceMs);
      await stopped;
    },
    drain: (settings) => {
      drained ??= drain(server, health, settings, logger);
      stopped ??= drained;
      return drained;
    },
    get draining() {
      return health.draining;
    },
  };
}
