import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Gateway } from '../harness/gateway.ts';
import { startPostgresServer } from '../harness/postgres-server.ts';
import { rawLogin, readUntilReady } from '../harness/pg-wire-client.ts';
import { freePort } from '../../common/free-port.ts';
import { encodeQuery } from '../../ext-proc/postgres/wire/frontend.ts';

const POLICY = `
policies:
  - name: pg-tls
    targets: [pgtls]
    subjects:
      - issuer: dev
        groups: [engineering]
    database: { users: [app_user], databases: [app] }
    rules:
      - { name: reads, effect: allow, statements: [read] }
`;

describe('PostgreSQL with client TLS terminated by Envoy (direct TLS, ALPN postgresql)', () => {
  let db: Awaited<ReturnType<typeof startPostgresServer>>;
  let gw: Gateway;
  let port: number;
  let dir: string;
  let alice: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-pg-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=db.gateway.test',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    db = await startPostgresServer({ auth: 'scram-sha-256', user: 'app_user' });
    port = await freePort();
    gw = await Gateway.start({
      extraPolicies: { 'pg-tls.yaml': POLICY },
      targets: [{ name: 'pgtls', protocol: 'postgres', endpoints: [`127.0.0.1:${db.port}`], postgres: { port, tls: { certFile: path.join(dir, 'cert.pem'), keyFile: path.join(dir, 'key.pem') } } }],
      credentials: [{ target: 'pgtls', secret: 'pg-password' }],
      secrets: { 'pg-password': db.password },
    });
    alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
  });
  after(async () => {
    await gw?.stop();
    await db?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a direct-TLS client logs in with its token over TLS and runs a query', async () => {
    const socket = (await rawLogin(port, 'app_user', 'app', alice, { directTls: true })) as TLSSocket;
    try {
      assert.equal(socket.alpnProtocol, 'postgresql');
      assert.equal(socket.getPeerCertificate().subject.CN, 'db.gateway.test');
      socket.write(encodeQuery('select 6 * 7 as answer'));
      const reply = await readUntilReady(socket);
      assert.deepEqual(reply.map((m) => m.type), ['T', 'D', 'C', 'Z']);
      assert.match(reply[1]!.text, /42/);
    } finally {
      socket.destroy();
    }
  });

  test('a plaintext client is refused with a clear FATAL before it sends its token', async () => {
    const logins = () => gw.decisions.text().split('\n').filter((l) => l.includes('"target":"pgtls"') && l.includes('"phase":"login"')).length;
    const before = logins();
    assert.ok(before >= 1, "the direct-TLS login above is in the decision log (so the count below means something)");
    const r = await new Promise<{ stderr: string }>((resolve) => execFile('psql', [`host=127.0.0.1 port=${port} user=app_user dbname=app password=${alice} sslmode=disable`, '-X', '-c', 'select 1'], { timeout: 20_000 }, (_e, _o, stderr) => resolve({ stderr })));
    assert.match(r.stderr, /FATAL: .*accepts TLS connections only/);
    assert.match(r.stderr, /sslnegotiation=direct/);
    // The refusal came at the StartupMessage: the client was never asked for its token, so nothing was checked.
    assert.equal(logins(), before);
  });
});
