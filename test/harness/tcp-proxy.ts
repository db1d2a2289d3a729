import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Closes the listener and cuts every connection through it (idempotent). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

/**
 * A TCP pass-through to a server (Redis, PostgreSQL) that a test can cut and restore on the same
 * port, to take the server away from one client only.
 */
export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  };
  let server: net.Server | undefined;
  const listen = async (port: number) => {
    const created = net.createServer((client) => {
      const upstream = net.connect(target.port, target.host);
      track(client);
      track(upstream);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => created.listen(port, '127.0.0.1', resolve));
    server = created;
    return created;
  };
  const { port } = (await listen(0)).address() as net.AddressInfo;
  return {
    port,
    stop: async () => {
      const current = server;
      server = undefined;
      if (current === undefined) return;
      const closed = new Promise<void>((resolve) => current.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    restart: async () => {
      await listen(port);
    },
  };
}
