import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Asks for a free loopback port (for configs whose ports must be known before start).
 *
 * A port handed out by the OS (listen on 0) comes from the ephemeral range, the same range the
 * kernel draws from for outgoing connections: between our close() and the real bind, Envoy or a
 * test client connecting somewhere can take it (seen in CI as EADDRINUSE). So the port is picked
 * at random below the ephemeral range and checked by binding it; only where that range is
 * unknown or leaves no room does it fall back to the OS's choice.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const range = reservedRange();
  if (range) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const candidate = range.low + Math.floor(Math.random() * (range.high - range.low));
      if (await canBind(candidate, host)) return candidate;
    }
  }
  return osPort(host);
}

/** Ports below the kernel's ephemeral range, above the well-known and registered ones in common use. */
function reservedRange(): { low: number; high: number } | undefined {
  let ephemeralLow = 32768;
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && Number.isInteger(low)) ephemeralLow = low;
  } catch {
    if (process.platform !== 'linux') return undefined;
  }
  const low = 20000;
  return ephemeralLow - low >= 1000 ? { low, high: ephemeralLow } : undefined;
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function osPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
