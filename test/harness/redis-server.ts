import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../../common/free-port.ts';
import { encodeCommand, scanValue } from '../../common/redis/resp.ts';

export interface RedisServerOptions {
  /** ACL lines written to the server's config, e.g. `user gw on >pw ~* +@all -@dangerous`. */
  users?: string[];
  /** requirepass for the default user (with `users`, the default user may also be switched off there). */
  requirepass?: string;
}

export interface RedisServer {
  host: string;
  port: number;
  /** Runs one command as the given user (default: the first `admin` login below, else none). */
  command(args: string[], login?: { user?: string; password: string }): Promise<string>;
  /** Kills the server (SIGKILL, as a crash would); its data is gone (no persistence). */
  down(): Promise<void>;
  /** Starts it again on the same port with the same config, after down(). */
  up(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A throwaway redis-server for one test file: its own port, no persistence, the ACL users the test
 * asks for. The shared 127.0.0.1:6379 is never reconfigured; tests that need passwords or ACL
 * users start one of these. `admin` is a full-rights user the harness adds for setup.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer & { admin: { user: string; password: string } }> {
  const dir = await mkdtemp('/tmp/sluice-redis-');
  const admin = { user: 'harness-admin', password: `admin-${Math.random().toString(36).slice(2)}` };
  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const conf = [
      `port ${port}`, 'bind 127.0.0.1', 'save ""', 'appendonly no', `dir ${dir}`, 'protected-mode no',
      ...(options.requirepass ? [`requirepass ${options.requirepass}`] : []),
      `user ${admin.user} on >${admin.password} ~* &* +@all`,
      ...(options.users ?? []),
    ].join('\n');
    await writeFile(path.join(dir, 'redis.conf'), `${conf}\n`, { mode: 0o600 });
    child = spawn('redis-server', [path.join(dir, 'redis.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
    const ready = await waitReady(port, child);
    if (ready) break;
    child.kill('SIGKILL');
    if (attempt >= 3) throw new Error(`redis-server did not start on ${port}:\n${output}`);
  }
  let live = child!;
  const down = async () => {
    if (live.exitCode === null && live.signalCode === null) {
      const exited = new Promise((r) => live.once('exit', r));
      live.kill('SIGKILL');
      await exited;
    }
  };
  const up = async () => {
    live = spawn('redis-server', [path.join(dir, 'redis.conf')], { stdio: ['ignore', 'ignore', 'ignore'] });
    if (!(await waitReady(port, live))) throw new Error(`redis-server did not start again on ${port}`);
  };
  const stop = async () => {
    await down();
    await rm(dir, { recursive: true, force: true });
  };
  process.once('exit', () => live.kill('SIGKILL'));
  return {
    host: '127.0.0.1',
    port,
    admin,
    command: (args, login = admin) => redisCommand(port, args, login),
    down,
    up,
    stop,
  };
}

async function waitReady(port: number, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** One command on a fresh connection (after AUTH when given); the reply's raw RESP text. */
export function redisCommand(port: number, args: string[], login?: { user?: string; password: string }, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    const expected = login ? 2 : 1;
    let buffer = Buffer.alloc(0);
    const replies: string[] = [];
    socket.on('connect', () => {
      if (login) socket.write(encodeCommand(login.user ? ['AUTH', login.user, login.password] : ['AUTH', login.password]));
      socket.write(encodeCommand(args));
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (let v = scanValue(buffer, 0); v !== null; v = scanValue(buffer, 0)) {
        replies.push(buffer.subarray(0, v.end).toString('utf8'));
        buffer = buffer.subarray(v.end);
        if (replies.length === expected) {
          socket.destroy();
          if (login && replies[0]!.startsWith('-')) reject(new Error(`AUTH failed: ${replies[0]}`));
          else resolve(replies[expected - 1]!);
          return;
        }
      }
    });
    socket.on('error', reject);
    setTimeout(() => { socket.destroy(); reject(new Error('redis command timed out')); }, 5000).unref();
  });
}
