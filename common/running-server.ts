import type { DrainReport, DrainSettings } from './grpc-server.ts';

/** A server a service started: where it listens, and how to stop it. */
export interface RunningServer {
  port: number;
  /** Stops; in-flight calls get `graceMs` to finish where the server supports it (0 = cut now). */
  close(graceMs?: number): Promise<void>;
  /** Stops gracefully: NOT_SERVING first, serving on for the delay, then in-flight calls finish (common/grpc-server.ts drain). */
  drain(settings: DrainSettings): Promise<DrainReport>;
  /** True once a drain has begun (the service's /readyz reports it). */
  readonly draining: boolean;
}
