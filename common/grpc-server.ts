import * as grpc from '@grpc/grpc-js';

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

/** Server options tuned for a single local Envoy peer that keeps one HTTP/2 connection busy. */
export const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': 4 * 1024 * 1024,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 10_000,
};
