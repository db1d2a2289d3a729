import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { PgAdminConnections } from './admin-sql.ts';
import { SessionRoleError } from './errors.ts';

const SECRET = 'admin-secret-9f3e';

/** A server that asks every client for its password in cleartext and keeps what the client sent after that. */
async function cleartextServer(): Promise<{ port: number; afterAsk: () => Buffer; close: () => Promise<void> }> {
  const received: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let asked = false;
    socket.on('data', (chunk) => {
      if (asked) {
        received.push(chunk);
        socket.end();
        return;
      }
      asked = true; // the StartupMessage; answer AuthenticationCleartextPassword
      const ask = Buffer.alloc(9);
      ask.write('R', 0);
      ask.writeInt32BE(8, 1);
      ask.writeInt32BE(3, 5);
      socket.write(ask);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    afterAsk: () => Buffer.concat(received),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const servers: { close: () => Promise<void> }[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

function admin(port: number, allowCleartext: boolean): PgAdminConnections {
  return new PgAdminConnections({ host: '127.0.0.1', port, user: 'sluice_admin', password: () => SECRET, tls: null, timeoutMs: 2000, allowCleartext });
}

test('the admin connection refuses a server that asks for the password in cleartext, and the password is never sent', async () => {
  const server = await cleartextServer();
  servers.push(server);
  const connections = admin(server.port, false);
  await assert.rejects(connections.query('postgres', 'SELECT 1'), (err: unknown) => {
    assert.ok(err instanceof SessionRoleError);
    assert.equal(err.code, 'ERR_PG_ROLE_ADMIN_UNAVAILABLE');
    assert.match(err.message, /cleartext/);
    assert.doesNotMatch(err.message, new RegExp(SECRET));
    return true;
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(server.afterAsk().includes(SECRET), false, 'the password crossed the wire');
  await connections.close();
});

test('with allowCleartextUpstream the admin password is sent as the server asked (a local path)', async () => {
  const server = await cleartextServer();
  servers.push(server);
  const connections = admin(server.port, true);
  await assert.rejects(connections.query('postgres', 'SELECT 1'));
  assert.equal(server.afterAsk().includes(SECRET), true, 'the password was not sent although cleartext was allowed');
  await connections.close();
});
