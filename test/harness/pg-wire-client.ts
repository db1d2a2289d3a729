import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { encodePassword, encodeStartupMessage } from '../../ext-proc/postgres/wire/frontend.ts';

/**
 * A PostgreSQL client that speaks the protocol itself, for what psql and node-pg do not do:
 * pipelining batches, direct TLS (PostgreSQL 17's sslnegotiation=direct, ALPN "postgresql").
 */
/** A client that speaks the protocol itself (to pipeline): logs in with the token, returns the socket at ReadyForQuery. */
export async function rawLogin(port: number, user: string, database: string, token: string, options: { directTls?: boolean } = {}): Promise<Socket> {
  const socket: Socket = options.directTls
    ? tlsConnect({ port, host: '127.0.0.1', ALPNProtocols: ['postgresql'], rejectUnauthorized: false })
    : connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => { socket.once(options.directTls ? 'secureConnect' : 'connect', () => resolve()); socket.once('error', reject); });
  socket.write(encodeStartupMessage(new Map([['user', user], ['database', database]])));
  const asked = await readMessages(socket, (m) => m.type === 'R');
  assert.equal(asked.at(-1)!.payload.readInt32BE(0), 3, 'the gateway asks for a cleartext password');
  socket.write(encodePassword(token));
  await readUntilReady(socket);
  return socket;
}

export interface Message { type: string; payload: Buffer; text: string }

const pending = new WeakMap<Socket, Buffer>();

export function readMessages(socket: Socket, last: (m: Message) => boolean): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    const out: Message[] = [];
    const onData = (chunk?: Buffer) => {
      let buf = Buffer.concat([pending.get(socket) ?? Buffer.alloc(0), chunk ?? Buffer.alloc(0)]);
      while (buf.length >= 5 && buf.length >= 1 + buf.readInt32BE(1)) {
        const length = buf.readInt32BE(1);
        const payload = buf.subarray(5, 1 + length);
        const m = { type: String.fromCharCode(buf[0]!), payload, text: payload.toString('latin1') };
        out.push(m);
        buf = buf.subarray(1 + length);
        if (last(m)) {
          pending.set(socket, buf);
          socket.off('data', onData);
          socket.off('error', reject);
          resolve(out);
          return;
        }
      }
      pending.set(socket, buf);
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`the connection closed; got ${out.map((m) => m.type).join('')} ${out.filter((m) => m.type === 'E').map((m) => m.text).join(' ')}`)));
    onData();
  });
}

export const readUntilReady = (socket: Socket) => readMessages(socket, (m) => m.type === 'Z');

