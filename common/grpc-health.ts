import * as grpc from '@grpc/grpc-js';
import type { Logger } from './logger.ts';
import { healthService } from './protos.ts';

/** How often a Watch stream re-reads readiness; a change is sent as soon as it is seen. */
const WATCH_INTERVAL_MS = 1000;

type Status = 'SERVING' | 'NOT_SERVING';

/** What a server keeps of its health service: the switch a graceful drain turns. */
export interface HealthReporter {
  /**
   * From now on every Check and Watch answers NOT_SERVING, whatever readiness says; open Watch
   * streams are told at once (not at their next poll), so a client that watches leaves first.
   */
  drain(): void;
  readonly draining: boolean;
  /** Ends every open Watch stream (they never end on their own, and would hold a graceful shutdown open). */
  endWatches(): void;
}

/**
 * The standard gRPC health service (grpc.health.v1) on a Sluice gRPC server, answering from the
 * service's readiness (the same checks as its admin /readyz): SERVING when every check passes,
 * NOT_SERVING otherwise, so Envoy's grpc_health_check can take a replica out before it fails
 * requests. `services` are the names a client may ask about ("" is the whole server); any other
 * is NOT_FOUND, as the protocol says. A readiness source that throws counts as NOT_SERVING.
 */
export function addHealthService(server: grpc.Server, options: { ready: () => Promise<boolean>; services: readonly string[]; logger: Logger }): HealthReporter {
  const known = new Set(['', ...options.services]);
  let draining = false;
  /** Each open Watch stream: its re-read, run at once when the drain starts, and its end. */
  const watchers = new Map<() => void, () => void>();
  const status = async (): Promise<Status> => {
    if (draining) return 'NOT_SERVING';
    try {
      // Read again after the wait: a drain that started meanwhile wins.
      const ready = await options.ready();
      return ready && !draining ? 'SERVING' : 'NOT_SERVING';
    } catch (err) {
      options.logger.warn({ err: (err as Error).message }, 'readiness failed; health answers NOT_SERVING');
      return 'NOT_SERVING';
    }
  };
  server.addService(healthService().service, {
    Check: (call: grpc.ServerUnaryCall<{ service?: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const name = call.request.service ?? '';
      if (!known.has(name)) return callback({ code: grpc.status.NOT_FOUND, details: `unknown service "${name}"` });
      void status().then((s) => callback(null, { status: s }));
    },
    Watch: (call: grpc.ServerWritableStream<{ service?: string }, unknown>) => {
      const name = call.request.service ?? '';
      if (!known.has(name)) {
        call.write({ status: 'SERVICE_UNKNOWN' });
        return;
      }
      let last: string | undefined;
      let stopped = false;
      const tick = async () => {
        const s = await status();
        if (stopped) return;
        if (s !== last) call.write({ status: s });
        last = s;
      };
      void tick();
      const timer = setInterval(() => void tick(), WATCH_INTERVAL_MS);
      const now = () => void tick();
      watchers.set(now, () => {
        // The last status (NOT_SERVING) was written first: end after it.
        void tick().finally(() => {
          stop();
          call.end();
        });
      });
      const stop = () => {
        stopped = true;
        clearInterval(timer);
        watchers.delete(now);
      };
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
  });
  return {
    drain: () => {
      if (draining) return;
      draining = true;
      for (const watcher of watchers.keys()) watcher();
    },
    endWatches: () => {
      for (const end of [...watchers.values()]) end();
    },
    get draining() {
      return draining;
    },
  };
}
