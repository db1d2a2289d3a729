import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PgAuthError } from './errors.ts';
import { SaltedPasswordCache } from './salted-password.ts';
import { ScramSha256Client } from './scram.ts';
import { MAX_SCRAM_ITERATIONS } from './scram-messages.ts';

// RFC 7677 section 3.
const NONCE = 'rOprNGfwEbeRWgbNEkqO';
const SERVER_NONCE = `${NONCE}%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0`;
const SERVER_FIRST = Buffer.from(`r=${SERVER_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`);
const CLIENT_FINAL = `c=biws,r=${SERVER_NONCE},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`;
const SERVER_FINAL = Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
// The same exchange with the empty n= PostgreSQL clients send (computed independently, with Python's hashlib).
const CLIENT_FINAL_EMPTY_USER = `c=biws,r=${SERVER_NONCE},p=qvT2SWdEH5Q06albL+hjSYuUhCG7VndFyzIb7CK4n9k=`;
const SERVER_FINAL_EMPTY_USER = Buffer.from('v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=');

const rfcClient = () => new ScramSha256Client('user', 'pencil', NONCE, { sendUserName: true });
const code = (expected: PgAuthError['code']) => (err: unknown) => err instanceof PgAuthError && err.code === expected;
function afterFirst(client: ScramSha256Client): ScramSha256Client {
  client.clientFirstMessage();
  return client;
}
const serverFirst = (text: string) => Buffer.from(text);

describe('ScramSha256Client', () => {
  test('RFC 7677 test vector, sync', () => {
    const client = rfcClient();
    assert.equal(client.clientFirstMessage().toString(), `n,,n=user,r=${NONCE}`);
    assert.equal(client.clientFinalMessage(SERVER_FIRST).toString(), CLIENT_FINAL);
    assert.equal(client.verified, false);
    client.verifyServerFinal(SERVER_FINAL);
    assert.equal(client.verified, true);
  });

  test('RFC 7677 test vector, async', async () => {
    const client = rfcClient();
    client.clientFirstMessage();
    assert.equal((await client.clientFinalMessageAsync(SERVER_FIRST)).toString(), CLIENT_FINAL);
    client.verifyServerFinal(SERVER_FINAL);
    assert.equal(client.verified, true);
  });

  test('sends an empty n= by default (PostgreSQL ignores it), and the proof covers that', () => {
    const client = new ScramSha256Client('user', 'pencil', NONCE);
    assert.equal(client.clientFirstMessage().toString(), `n,,n=,r=${NONCE}`);
    assert.equal(client.clientFinalMessage(SERVER_FIRST).toString(), CLIENT_FINAL_EMPTY_USER);
    client.verifyServerFinal(SERVER_FINAL_EMPTY_USER);
    assert.ok(client.verified);
  });

  test('a user name with , and = is escaped when sent', () => {
    const client = new ScramSha256Client('a,b=c', 'x', NONCE, { sendUserName: true });
    assert.equal(client.clientFirstMessage().toString(), `n,,n=a=2Cb=3Dc,r=${NONCE}`);
  });

  test('a random nonce is 24 printable characters and differs per client', () => {
    const a = new ScramSha256Client('u', 'p').clientFirstMessage().toString();
    const b = new ScramSha256Client('u', 'p').clientFirstMessage().toString();
    assert.match(a, /^n,,n=,r=[A-Za-z0-9+/]{24}$/);
    assert.notEqual(a, b);
  });

  test('a wrong server signature fails with ERR_PG_SCRAM_SERVER_SIGNATURE and is final', () => {
    const client = afterFirst(rfcClient());
    client.clientFinalMessage(SERVER_FIRST);
    assert.throws(() => client.verifyServerFinal(SERVER_FINAL_EMPTY_USER), code('ERR_PG_SCRAM_SERVER_SIGNATURE'));
    assert.equal(client.verified, false);
    assert.throws(() => client.verifyServerFinal(SERVER_FINAL), code('ERR_PG_SCRAM_INVALID'), 'no second try');
    assert.equal(client.verified, false);
  });

  test('a truncated signature and an e= answer fail with ERR_PG_SCRAM_SERVER_SIGNATURE', () => {
    for (const final of ['v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl9', 'e=invalid-proof']) {
      const client = afterFirst(rfcClient());
      client.clientFinalMessage(SERVER_FIRST);
      assert.throws(() => client.verifyServerFinal(Buffer.from(final)), code('ERR_PG_SCRAM_SERVER_SIGNATURE'), final);
      assert.equal(client.verified, false);
    }
  });

  test('a malformed server-final fails with ERR_PG_SCRAM_INVALID', () => {
    for (const final of ['', 'x=abc', 'v=not base64!', 'v=']) {
      const client = afterFirst(rfcClient());
      client.clientFinalMessage(SERVER_FIRST);
      assert.throws(() => client.verifyServerFinal(Buffer.from(final)), code('ERR_PG_SCRAM_INVALID'), final);
    }
  });

  test('server-first: bad nonce, salt, iterations and m= are refused with ERR_PG_SCRAM_INVALID', () => {
    const cases: Record<string, string> = {
      'nonce of another exchange': `r=XXprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`,
      'nonce without a server part': `r=${NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`,
      'nonce with a non-printable character': `r=${NONCE}ab\x01,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`,
      'missing nonce': `s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`,
      'mandatory extension': `m=ext,r=${SERVER_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`,
      'salt not base64': `r=${SERVER_NONCE},s=W22ZaJ0SNY7so*sUEjb6gQ==,i=4096`,
      'salt without padding': `r=${SERVER_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ,i=4096`,
      'empty salt': `r=${SERVER_NONCE},s=,i=4096`,
      'zero iterations': `r=${SERVER_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0`,
      'negative iterations': `r=${SERVER_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1`,
      'fractional iterations': `r=${SERVER_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096.5`,
      'missing iterations': `r=${SERVER_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==`,
      'huge iterations': `r=${SERVER_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=${MAX_SCRAM_ITERATIONS + 1}`,
      'absurd iterations': `r=${SERVER_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999999999999`,
    };
    for (const [name, text] of Object.entries(cases)) {
      assert.throws(() => afterFirst(rfcClient()).clientFinalMessage(serverFirst(text)), code('ERR_PG_SCRAM_INVALID'), name);
    }
  });

  test('huge iterations are refused before any PBKDF2 work, async too', async () => {
    const started = performance.now();
    await assert.rejects(
      afterFirst(rfcClient()).clientFinalMessageAsync(serverFirst(`r=${SERVER_NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2000000000`)),
      (err: unknown) => code('ERR_PG_SCRAM_INVALID')(err) && (err as PgAuthError).details.iterations === 2_000_000_000,
    );
    assert.ok(performance.now() - started < 100);
  });

  test('optional extensions after i= are ignored', () => {
    const client = afterFirst(rfcClient());
    assert.equal(client.clientFinalMessage(Buffer.from(`${SERVER_FIRST},x=whatever`)).toString().startsWith(`c=biws,r=${SERVER_NONCE},p=`), true);
  });

  test('steps out of order fail with ERR_PG_SCRAM_INVALID', () => {
    assert.throws(() => rfcClient().clientFinalMessage(SERVER_FIRST), code('ERR_PG_SCRAM_INVALID'));
    assert.throws(() => rfcClient().verifyServerFinal(SERVER_FINAL), code('ERR_PG_SCRAM_INVALID'));
    const client = afterFirst(rfcClient());
    assert.throws(() => client.clientFirstMessage(), code('ERR_PG_SCRAM_INVALID'));
    client.clientFinalMessage(SERVER_FIRST);
    assert.throws(() => client.clientFinalMessage(SERVER_FIRST), code('ERR_PG_SCRAM_INVALID'));
  });

  test('a client nonce with a comma is refused', () => {
    assert.throws(() => new ScramSha256Client('u', 'p', 'a,b'), code('ERR_PG_SCRAM_INVALID'));
  });

  test('the password is prepared with SASLprep (no-break space = space, soft hyphen dropped)', () => {
    const plain = afterFirst(new ScramSha256Client('u', 'pen cil', NONCE)).clientFinalMessage(SERVER_FIRST).toString();
    const fancy = afterFirst(new ScramSha256Client('u', 'pen\u00a0ci\u00adl', NONCE)).clientFinalMessage(SERVER_FIRST).toString();
    assert.equal(fancy, plain);
  });
});

describe('SaltedPasswordCache', () => {
  const salt = Buffer.from('salt');
  function counting() {
    const calls: number[] = [];
    const cache = new SaltedPasswordCache(
      2,
      async (_p, _s, i) => { calls.push(i); await new Promise((r) => setTimeout(r, 5)); return Buffer.alloc(32, i); },
      (_p, _s, i) => { calls.push(i); return Buffer.alloc(32, i); },
    );
    return { cache, calls };
  }

  test('a repeat derivation is served from the cache; salt, count and password are all part of the key', async () => {
    const { cache, calls } = counting();
    cache.get(Buffer.from('pw'), salt, 1);
    cache.get(Buffer.from('pw'), salt, 1);
    await cache.getAsync(Buffer.from('pw'), salt, 1);
    assert.equal(calls.length, 1);
    cache.get(Buffer.from('pw'), salt, 2);
    cache.get(Buffer.from('pw'), Buffer.from('other'), 2);
    cache.get(Buffer.from('other'), salt, 2);
    assert.equal(calls.length, 4);
  });

  test('concurrent async derivations of one key share one PBKDF2 run', async () => {
    const { cache, calls } = counting();
    const results = await Promise.all([1, 2, 3].map(() => cache.getAsync(Buffer.from('pw'), salt, 7)));
    assert.equal(calls.length, 1);
    assert.ok(results.every((r) => r.equals(Buffer.alloc(32, 7))));
  });

  test('the cache is bounded (LRU)', () => {
    const { cache, calls } = counting();
    for (const i of [1, 2, 3, 1]) cache.get(Buffer.from('pw'), salt, i);
    assert.deepEqual(calls, [1, 2, 3, 1], 'with max 2, the first entry was evicted by the third');
  });

  test('the real derivation matches RFC 7677 through the shared cache (second login skips PBKDF2)', () => {
    const first = rfcClient();
    first.clientFirstMessage();
    first.clientFinalMessage(SERVER_FIRST);
    const again = rfcClient();
    again.clientFirstMessage();
    assert.equal(again.clientFinalMessage(SERVER_FIRST).toString(), CLIENT_FINAL);
  });
});
