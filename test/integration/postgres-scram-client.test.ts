import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { md5PasswordMessage } from '../../ext-proc/postgres/auth/md5.ts';
import { ScramSha256Client } from '../../ext-proc/postgres/auth/scram.ts';
import { startPostgresServer, type PostgresServer } from '../harness/postgres-server.ts';

// ---- just enough of the v3 wire protocol for a login (the production codecs live elsewhere) ----

interface BackendMessage {
  type: string;
  body: Buffer;
}

const AUTH_OK = 0;
const AUTH_MD5 = 5;
const AUTH_SASL = 10;
const AUTH_SASL_CONTINUE = 11;
const AUTH_SASL_FINAL = 12;

const cstring = (text: string) => Buffer.from(`${text}\0`, 'utf8');

function frame(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function startupMessage(user: string, database: string): Buffer {
  const body = Buffer.concat([Buffer.from([0, 3, 0, 0]), cstring('user'), cstring(user), cstring('database'), cstring(database), Buffer.from([0])]);
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length + 4);
  return Buffer.concat([length, body]);
}

function saslInitialResponse(mechanism: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32BE(data.length);
  return frame('p', Buffer.concat([cstring(mechanism), length, data]));
}

/** ErrorResponse / NoticeResponse fields by their one-letter code (C = SQLSTATE, M = message). */
function errorFields(body: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const end = body.indexOf(0, at + 1);
    fields[String.fromCharCode(body[at]!)] = body.toString('utf8', at + 1, end);
    at = end + 1;
  }
  return fields;
}

/** A socket to the server with an awaitable queue of whole backend messages. */
class Connection {
  private buffered = Buffer.alloc(0);
  private readonly queue: BackendMessage[] = [];
  private waiting: ((m: BackendMessage) => void) | undefined;
  private failure: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 5 && this.buffered.length >= 1 + this.buffered.readInt32BE(1)) {
        const length = this.buffered.readInt32BE(1);
        this.push({ type: String.fromCharCode(this.buffered[0]!), body: Buffer.from(this.buffered.subarray(5, 1 + length)) });
        this.buffered = this.buffered.subarray(1 + length);
      }
    });
    socket.on('error', (err) => { this.failure = err; });
    socket.on('close', () => { this.failure ??= new Error('connection closed'); });
  }

  static async open(server: PostgresServer, user = server.user): Promise<Connection> {
    const socket = net.connect(server.port, server.host);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const connection = new Connection(socket);
    socket.write(startupMessage(user, server.database));
    return connection;
  }

  send(message: Buffer): void {
    this.socket.write(message);
  }

  async next(): Promise<BackendMessage> {
    const queued = this.queue.shift();
    if (queued) return queued;
    if (this.failure) throw this.failure;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message from the server within 5 s')), 5000);
      this.waiting = (m) => { clearTimeout(timer); resolve(m); };
    });
  }

  /** The next message, which must be Authentication of the given kind; returns what follows the kind. */
  async expectAuth(kind: number): Promise<Buffer> {
    const message = await this.next();
    if (message.type === 'E') throw Object.assign(new Error(errorFields(message.body).M), { fields: errorFields(message.body) });
    assert.equal(message.type, 'R', `expected Authentication, got ${message.type}`);
    assert.equal(message.body.readInt32BE(0), kind, 'authentication kind');
    return message.body.subarray(4);
  }

  /** After AuthenticationOk: ParameterStatus and BackendKeyData until ReadyForQuery. */
  async expectReady(): Promise<Record<string, string>> {
    const parameters: Record<string, string> = {};
    for (;;) {
      const message = await this.next();
      if (message.type === 'Z') return parameters;
      if (message.type === 'S') {
        const [name, value] = message.body.toString('utf8').split('\0');
        parameters[name!] = value!;
      } else assert.equal(message.type, 'K', `unexpected ${message.type} before ReadyForQuery`);
    }
  }

  async expectError(): Promise<Record<string, string>> {
    const message = await this.next();
    assert.equal(message.type, 'E', `expected ErrorResponse, got ${message.type}`);
    return errorFields(message.body);
  }

  close(): void {
    if (!this.socket.destroyed) this.socket.end(frame('X', Buffer.alloc(0)));
  }

  private push(message: BackendMessage): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting(message);
    else this.queue.push(message);
  }
}

// ---- the logins ---------------------------------------------------------------------------------

/** StartupMessage → AuthenticationSASL → SASLInitialResponse → SASLContinue → SASLResponse → SASLFinal → AuthenticationOk. */
async function scramLogin(server: PostgresServer, password: string, mode: 'async' | 'sync' = 'async'): Promise<{ client: ScramSha256Client; connection: Connection }> {
  const connection = await Connection.open(server);
  const client = new ScramSha256Client(server.user, password);
  try {
    const mechanisms = (await connection.expectAuth(AUTH_SASL)).toString('utf8').split('\0').filter(Boolean);
    assert.deepEqual(mechanisms, ['SCRAM-SHA-256'], 'no -PLUS without TLS');
    connection.send(saslInitialResponse(client.mechanism, client.clientFirstMessage()));
    const serverFirst = await connection.expectAuth(AUTH_SASL_CONTINUE);
    const final = mode === 'async' ? await client.clientFinalMessageAsync(serverFirst) : client.clientFinalMessage(serverFirst);
    connection.send(frame('p', final));
    client.verifyServerFinal(await connection.expectAuth(AUTH_SASL_FINAL));
    await connection.expectAuth(AUTH_OK);
    return { client, connection };
  } catch (err) {
    connection.close();
    throw err;
  }
}

async function md5Login(server: PostgresServer, password: string): Promise<Connection> {
  const connection = await Connection.open(server);
  try {
    const salt = await connection.expectAuth(AUTH_MD5);
    assert.equal(salt.length, 4);
    connection.send(frame('p', cstring(md5PasswordMessage(server.user, password, salt))));
    await connection.expectAuth(AUTH_OK);
    return connection;
  } catch (err) {
    connection.close();
    throw err;
  }
}

const sqlState = (expected: string) => (err: unknown) => (err as { fields?: Record<string, string> }).fields?.C === expected;
const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;

describe('ScramSha256Client against a real PostgreSQL (scram-sha-256)', () => {
  let server: PostgresServer;
  before(async () => { server = await startPostgresServer({ auth: 'scram-sha-256' }); });
  after(() => server?.stop());

  for (const mode of ['async', 'sync'] as const) {
    test(`a full SASL login (${mode}) verifies the server and reaches ReadyForQuery`, async () => {
      const { client, connection } = await scramLogin(server, server.password, mode);
      try {
        assert.equal(client.verified, true);
        const parameters = await connection.expectReady();
        assert.equal(parameters.session_authorization, server.user);
      } finally {
        connection.close();
      }
    });
  }

  test('a wrong password: the server answers the proof with ErrorResponse 28P01', async () => {
    const connection = await Connection.open(server);
    try {
      const client = new ScramSha256Client(server.user, 'wrong');
      await connection.expectAuth(AUTH_SASL);
      connection.send(saslInitialResponse(client.mechanism, client.clientFirstMessage()));
      connection.send(frame('p', await client.clientFinalMessageAsync(await connection.expectAuth(AUTH_SASL_CONTINUE))));
      const error = await connection.expectError();
      assert.equal(error.C, '28P01');
      assert.match(error.M!, /password authentication failed/);
      assert.equal(client.verified, false);
    } finally {
      connection.close();
    }
  });

  test('passwords SASLprep changes, or refuses, hash the same on both sides', async () => {
    // No-break space and ideographic space map to space, the soft hyphen to nothing, the ligature
    // folds (NFKC); U+0085 is prohibited, so both sides use the raw password, no-break space and all.
    const cases: [stored: string, loginWith: string][] = [
      ['pä\u00a0ss\u3000wö\u00adrd \ufb01', 'pä\u00a0ss\u3000wö\u00adrd \ufb01'],
      // The prepared form logs in too: it is what the server hashed.
      ['pä\u00a0ss\u3000wö\u00adrd \ufb01', 'pä ss wörd fi'],
      ['raw\u00a0fallback\u0085', 'raw\u00a0fallback\u0085'],
    ];
    for (const [stored, loginWith] of cases) {
      await server.sql(`ALTER ROLE ${server.user} PASSWORD ${literal(stored)}`);
      const { client, connection } = await scramLogin(server, loginWith);
      connection.close();
      assert.equal(client.verified, true, JSON.stringify(loginWith));
    }
    // For the prohibited one, the server kept the no-break space (nothing was prepared), so the
    // mapped form must fail: both sides agree on the fallback, not on a partial preparation.
    await assert.rejects(scramLogin(server, 'raw fallback\u0085'), sqlState('28P01'));
    await server.sql(`ALTER ROLE ${server.user} PASSWORD ${literal(server.password)}`);
  });
});

describe('md5PasswordMessage against a real PostgreSQL (md5)', () => {
  let server: PostgresServer;
  before(async () => { server = await startPostgresServer({ auth: 'md5' }); });
  after(() => server?.stop());

  test('AuthenticationMD5Password → PasswordMessage → AuthenticationOk → ReadyForQuery', async () => {
    const connection = await md5Login(server, server.password);
    try {
      assert.equal((await connection.expectReady()).session_authorization, server.user);
    } finally {
      connection.close();
    }
  });

  test('a wrong password gives ErrorResponse 28P01', async () => {
    await assert.rejects(md5Login(server, 'wrong'), sqlState('28P01'));
  });
});
