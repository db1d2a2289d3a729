import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Waits until a server listens on each port, so the bench's first request does not meet a service
 * that is still starting (Envoy would answer it with 500 and count a failed stream).
 */
export async function waitForListeners(ports: Record<string, number>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const [name, port] of Object.entries(ports)) {
    while (!(await canConnect(port))) {
      if (Date.now() > deadline) throw new Error(`${name} is not listening on port ${port}`);
      await sleep(50);
    }
  }
}
