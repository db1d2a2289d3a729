import * as grpc from '@grpc/grpc-js';
import type { Logger } from './logger.ts';
import { healthService } from './protos.ts';

/** How often a Watch stream re-reads readiness; a change is sent as soon as it is seen. */
const WATCH_INTERVAL_MS = 1000;

/**
 * The standard gRPC health service (grpc.health.v1) on a Sluice gRPC server, answering from the
 * service's readiness (the same checks as its admin /readyz): SERVING when every check passes,
 * NOT_SERVING otherwise, so Envoy's grpc_health_check can take a replica out before it fails
 * requests. `services` are the names a client may ask about ("" is the whole server); any other
 * is NOT_FOUND, as the protocol says. A readiness source that throws counts as NOT_SERVING.
 */
export function addHealthService(server: grpc.Server, options: { ready: () => Promise<boolean>; services: readonly string[]; logger: Logger }): void {
  const known = new Set(['', ...options.services]);
  const status = async (): Promise<'SERVING' | 'NOT_SERVING'> => {
    try {
      return (await options.ready()) ? 'SERVING' : 'NOT_SERVING';
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
      const stop = () => {
        stopped = true;
        clearInterval(timer);
      };
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
  });
}
