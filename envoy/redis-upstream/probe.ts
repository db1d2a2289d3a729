import net from 'node:net';
import { SluiceError } from '../../common/errors.ts';
import { encodeCommand, scanValue, simpleText } from '../../common/redis/resp.ts';
import type { Endpoint } from '../generate/types.ts';

export interface ProbeLogin {
  user?: string;
  password: string;
}

/** What the gateway's upstream user may do, as the server answered. */
export interface ProbeResult {
  /** The server ran CONFIG GET for this user (the user can read the server's password). */
  canRunConfig: boolean;
  /** The server's answer to the CONFIG probe, first line (e.g. "NOPERM …"), for the log. */
  configAnswer: string;
}

const PROBE_TIMEOUT_MS = 3000;

/**
 * Logs in to one Redis server the way Envoy will (AUTH [user] password) and asks
 * `CONFIG GET sluice-probe` — harmless when allowed (an unknown parameter reads as nothing) and
 * `-NOPERM` for a user without CONFIG. The password is only ever written to the socket.
 */
export async function probeRedisUpstream(endpoint: Endpoint, login: ProbeLogin | null, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  const commands: Buffer[] = [];
  if (login) commands.push(encodeCommand(login.user ? ['AUTH', login.user, login.password] : ['AUTH', login.password]));
  commands.push(encodeCommand(['CONFIG', 'GET', 'sluice-probe']), encodeCommand(['QUIT']));
  const replies = await exchange(endpoint, Buffer.concat(commands), commands.length, timeoutMs);
  const where = `${endpoint.host}:${endpoint.port}`;
  if (login) {
    const auth = replies[0]!;
    if (auth.error) {
      throw new SluiceError('ERR_REDIS_UPSTREAM_LOGIN', `the Redis server at ${where} refused the gateway's login${login.user ? ` as user "${login.user}"` : ''}: ${auth.text.split(' ')[0]}`, {
        details: { endpoint: where, ...(login.user ? { user: login.user } : {}) },
      });
    }
  }
  const config = replies[login ? 1 : 0]!;
  if (config.error && /^NOAUTH/.test(config.text)) {
    throw new SluiceError('ERR_REDIS_UPSTREAM_LOGIN', `the Redis server at ${where} needs a password and the target has no credential (extProc.credentials)`, { details: { endpoint: where } });
  }
  return { canRunConfig: !config.error, configAnswer: config.error ? config.text.slice(0, 120) : 'allowed' };
}

interface Reply { error: boolean; text: string }

function exchange(endpoint: Endpoint, bytes: Buffer, expected: number, timeoutMs: number): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const where = `${endpoint.host}:${endpoint.port}`;
    const socket = net.connect({ host: endpoint.host, port: endpoint.port });
    let buffer = Buffer.alloc(0);
    const replies: Reply[] = [];
    const timer = setTimeout(() => fail(new SluiceError('ERR_REDIS_UPSTREAM_UNREACHABLE', `the Redis server at ${where} did not answer the gateway's check within ${timeoutMs} ms`, { details: { endpoint: where } })), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.on('connect', () => socket.write(bytes));
    socket.on('error', (err) => fail(new SluiceError('ERR_REDIS_UPSTREAM_UNREACHABLE', `the gateway could not reach the Redis server at ${where} to check its upstream user: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { details: { endpoint: where } })));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      try {
        for (let value = scanValue(buffer, 0); value !== null; value = scanValue(buffer, 0)) {
          replies.push({ error: value.error, text: simpleText(buffer, 0) });
          buffer = buffer.subarray(value.end);
          if (replies.length >= expected - 1) {
            // The QUIT reply does not matter; the answers that do are in.
            clearTimeout(timer);
            socket.destroy();
            resolve(replies);
            return;
          }
        }
      } catch (err) {
        fail(err as Error);
      }
    });
    socket.on('close', () => fail(new SluiceError('ERR_REDIS_UPSTREAM_UNREACHABLE', `the Redis server at ${where} closed the connection during the gateway's check`, { details: { endpoint: where } })));
  });
}
