import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { closeServer, listen, readBody } from '../../common/http.ts';
import { SluiceError } from '../../common/errors.ts';
import { ClientCredentialsMinter, type ClientCredentialsSpec } from './client-credentials.ts';
import { waitFor } from '../../test/harness/wait.ts';

/** Has every character form-urlencoding treats specially, so a wrong encoding cannot pass. */
const SECRET = 'hunter2 s3cr:et+/%é&=';
const CLIENT_ID = 'sluice client:1';

interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  form: URLSearchParams;
}

type Handler = (req: SeenRequest, res: ServerResponse, n: number) => void | Promise<void>;

/** A real token endpoint on port 0 that records every request and answers through `handler`. */
async function tokenServer(handler: Handler): Promise<{ url: string; seen: SeenRequest[]; close: () => Promise<void> }> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const body = (await readBody(req)).toString('utf8');
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, form: new URLSearchParams(body) };
      seen.push(request);
      await handler(request, res, seen.length);
    })();
  });
  const port = await listen(server, 0);
  return { url: `http://127.0.0.1:${port}/oauth2/token`, seen, close: () => closeServer(server) };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(payload);
}

/** Answers token `tok-<n>` for the n-th request. */
const issue = (extra: Record<string, unknown> = {}): Handler => (_req, res, n) =>
  json(res, 200, { access_token: `tok-${n}`, token_type: 'Bearer', expires_in: 3600, ...extra });

function spec(tokenUrl: string, overrides: Partial<ClientCredentialsSpec> = {}): ClientCredentialsSpec {
  return {
    tokenUrl,
    clientId: CLIENT_ID,
    clientSecret: () => SECRET,
    scopes: [],
    auth: 'basic',
    timeoutMs: 2000,
    refreshSkewMs: 30_000,
    ...overrides,
  };
}

/** Decodes an RFC 6749 §2.3.1 Basic header back into id and secret. */
function basicCredentials(header: string | undefined): [string, string] {
  assert.ok(header !== undefined && header.startsWith('Basic '), `expected a Basic authorization header, got ${header}`);
  const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
  // The encoded parts may not contain a raw colon: that is what the encoding is for.
  assert.equal(decoded.indexOf(':', colon + 1), -1);
  return [formDecode(decoded.slice(0, colon)), formDecode(decoded.slice(colon + 1))];
}

/** Awaits a rejection, checks its code, and checks that no secret or token leaks through message, details or cause. */
async function rejectsWith(promise: Promise<unknown>, code: string, secrets: readonly string[] = [SECRET]): Promise<SluiceError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof SluiceError, `expected a SluiceError, got ${inspect(caught)}`);
  assert.equal(caught.code, code, caught.message);
  const everything = [inspect(caught, { depth: 20 }), JSON.stringify(caught.details), String(caught.cause), inspect(caught.cause, { depth: 20 })].join('\n');
  for (const secret of [...secrets, 'hunter2']) {
    assert.ok(!everything.includes(secret), `error leaks "${secret}": ${everything}`);
  }
  return caught;
}

test('mints a token with client_secret_basic, sending scope and audience', async () => {
  const server = await tokenServer(issue());
  try {
    const minter = new ClientCredentialsMinter(spec(server.url, { scopes: ['read', 'write:all'], audience: 'https://api.example' }));
    assert.equal(await minter.token(), 'tok-1');
    assert.equal(server.seen.length, 1);
    const [req] = server.seen;
    assert.equal(req!.method, 'POST');
    assert.equal(req!.url, '/oauth2/token');
    assert.equal(req!.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(req!.headers.accept, 'application/json');
    assert.deepEqual(basicCredentials(req!.headers.authorization), [CLIENT_ID, SECRET]);
    assert.deepEqual(Object.fromEntries(req!.form), { grant_type: 'client_credentials', scope: 'read write:all', audience: 'https://api.example' });
  } finally {
    await server.close();
  }
});

test('mints a token with client_secret_post, omitting an empty scope and unset audience', async () => {
  const server = await tokenServer(issue());
  try {
    const minter = new ClientCredentialsMinter(spec(server.url, { auth: 'body' }));
    assert.equal(await minter.token(), 'tok-1');
    const [req] = server.seen;
    assert.equal(req!.headers.authorization, undefined);
    assert.deepEqual(Object.fromEntries(req!.form), { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: SECRET });
  } finally {
    await server.close();
  }
});

test('accepts token_type in any case and a quoted expires_in', async () => {
  const server = await tokenServer(issue({ token_type: 'bearer', expires_in: '3600' }));
  try {
    assert.equal(await new ClientCredentialsMinter(spec(server.url)).token(), 'tok-1');
  } finally {
    await server.close();
  }
});

test('caches the token: a second call makes no request', async () => {
  const server = await tokenServer(issue());
  try {
    const minter = new ClientCredentialsMinter(spec(server.url));
    assert.equal(await minter.token(), 'tok-1');
    assert.equal(await minter.token(), 'tok-1');
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

test('from expiry minus the skew, serves the valid token while one background request refreshes it', async () => {
  const server = await tokenServer(issue({ expires_in: 60 }));
  try {
    let now = 1_000_000;
    const minter = new ClientCredentialsMinter(spec(server.url, { refreshSkewMs: 10_000 }), { now: () => now });
    assert.equal(await minter.token(), 'tok-1');
    now += 49_999;
    assert.equal(await minter.token(), 'tok-1', 'still outside the skew window');
    assert.equal(server.seen.length, 1);
    now += 1;
    const served = await Promise.all([minter.token(), minter.token(), minter.token()]);
    assert.deepEqual(served, ['tok-1', 'tok-1', 'tok-1'], 'inside the skew window: no caller waits');
    await waitFor(() => server.seen.length === 2, 2000, 5);
    await new Promise((r) => setImmediate(r));
    assert.equal(await minter.token(), 'tok-2', 'the background refresh replaced it');
    assert.equal(server.seen.length, 2, 'one refresh for all of them');
  } finally {
    await server.close();
  }
});

test('a failed background refresh keeps serving the valid token, retries after the backoff, and waits only once it expires', async () => {
  let fail = false;
  const server = await tokenServer((req, res, n) => (fail ? json(res, 503, { error: 'temporarily_unavailable' }) : issue({ expires_in: 60 })(req, res, n)));
  try {
    let now = 0;
    const minter = new ClientCredentialsMinter(spec(server.url, { refreshSkewMs: 10_000, failureBackoffMs: 1000 }), { now: () => now });
    assert.equal(await minter.token(), 'tok-1');
    fail = true;
    now = 50_000;
    assert.equal(await minter.token(), 'tok-1');
    await waitFor(() => server.seen.length === 2, 2000, 5);
    await new Promise((r) => setImmediate(r));
    now = 50_500;
    assert.equal(await minter.token(), 'tok-1', 'still valid, and no new request inside the backoff');
    assert.equal(server.seen.length, 2);
    now = 60_000;
    await rejectsWith(minter.token(), 'ERR_OAUTH2_REJECTED');
  } finally {
    await server.close();
  }
});

test('uses half the lifetime when the skew is not shorter than it', async () => {
  const server = await tokenServer(issue({ expires_in: 10 }));
  try {
    let now = 0;
    const minter = new ClientCredentialsMinter(spec(server.url, { refreshSkewMs: 30_000 }), { now: () => now });
    assert.equal(await minter.token(), 'tok-1');
    now = 4_999;
    assert.equal(await minter.token(), 'tok-1');
    assert.equal(server.seen.length, 1);
    now = 5_000;
    assert.equal(await minter.token(), 'tok-1', 'refreshing in the background');
    await waitFor(() => server.seen.length === 2, 2000, 5);
    await new Promise((r) => setImmediate(r));
    assert.equal(await minter.token(), 'tok-2');
  } finally {
    await server.close();
  }
});

test('assumes 300 s when expires_in is absent', async () => {
  const server = await tokenServer((_req, res, n) => json(res, 200, { access_token: `tok-${n}` }));
  try {
    let now = 0;
    const minter = new ClientCredentialsMinter(spec(server.url, { refreshSkewMs: 0 }), { now: () => now });
    assert.equal(await minter.token(), 'tok-1');
    now = 299_999;
    assert.equal(await minter.token(), 'tok-1');
    now = 300_000;
    assert.equal(await minter.token(), 'tok-2');
  } finally {
    await server.close();
  }
});

test('single flight: 50 concurrent callers share one request', async () => {
  const server = await tokenServer((req, res, n) => {
    setTimeout(() => void issue()(req, res, n), 100);
  });
  try {
    const minter = new ClientCredentialsMinter(spec(server.url));
    const tokens = await Promise.all(Array.from({ length: 50 }, () => minter.token()));
    assert.deepEqual(new Set(tokens), new Set(['tok-1']));
    assert.equal(tokens.length, 50);
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

test('single flight: a failed mint rejects every waiter, with one request', async () => {
  const server = await tokenServer((_req, res) => {
    setTimeout(() => json(res, 500, { error: 'server_error' }), 100);
  });
  try {
    const minter = new ClientCredentialsMinter(spec(server.url));
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => minter.token()));
    assert.ok(results.every((r) => r.status === 'rejected' && (r.reason as SluiceError).code === 'ERR_OAUTH2_REJECTED'));
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

test('a rotated secret is used by the next mint', async () => {
  const server = await tokenServer(issue());
  try {
    let secret = 'first-secret';
    const minter = new ClientCredentialsMinter(spec(server.url, { clientSecret: () => secret }));
    await minter.token();
    secret = 'second-secret';
    minter.invalidate();
    assert.equal(await minter.token(), 'tok-2');
    assert.deepEqual(server.seen.map((r) => basicCredentials(r.headers.authorization)[1]), ['first-secret', 'second-secret']);
  } finally {
    await server.close();
  }
});

test('invalidate() forgets the cached token', async () => {
  const server = await tokenServer(issue());
  try {
    const minter = new ClientCredentialsMinter(spec(server.url));
    assert.equal(await minter.token(), 'tok-1');
    minter.invalidate();
    assert.equal(await minter.token(), 'tok-2');
    assert.equal(await minter.token(), 'tok-2', 'the new token is cached again');
    assert.equal(server.seen.length, 2);
  } finally {
    await server.close();
  }
});

test('401 invalid_client: ERR_OAUTH2_REJECTED with status and error code, never the body or the secret', async () => {
  // A hostile or careless endpoint that echoes the credentials in its description.
  const server = await tokenServer((_req, res) => json(res, 401, { error: 'invalid_client', error_description: `bad secret ${SECRET}` }));
  try {
    const err = await rejectsWith(new ClientCredentialsMinter(spec(server.url)).token(), 'ERR_OAUTH2_REJECTED');
    assert.match(err.message, /401/);
    assert.match(err.message, /invalid_client/);
    assert.equal(err.details.status, 401);
    assert.equal(err.details.oauthError, 'invalid_client');
    assert.ok(!err.message.includes('bad secret'));
  } finally {
    await server.close();
  }
});

test('an error field that is not a short code is not repeated', async () => {
  const server = await tokenServer((_req, res) => json(res, 400, { error: 'Invalid <client> tok-leaked' }));
  try {
    const err = await rejectsWith(new ClientCredentialsMinter(spec(server.url)).token(), 'ERR_OAUTH2_REJECTED', [SECRET, 'tok-leaked']);
    assert.equal(err.details.status, 400);
    assert.equal(err.details.oauthError, undefined);
  } finally {
    await server.close();
  }
});

test('a redirect is a rejection and is not followed with the credentials', async () => {
  const elsewhere = await tokenServer(issue());
  const server = await tokenServer((_req, res) => {
    res.writeHead(307, { location: elsewhere.url });
    res.end();
  });
  try {
    const err = await rejectsWith(new ClientCredentialsMinter(spec(server.url)).token(), 'ERR_OAUTH2_REJECTED');
    assert.equal(err.details.status, 307);
    assert.equal(elsewhere.seen.length, 0);
  } finally {
    await server.close();
    await elsewhere.close();
  }
});

test('a garbage body is ERR_OAUTH2_BAD_RESPONSE without quoting it', async () => {
  const server = await tokenServer((_req, res) => json(res, 200, 'tok-garbage-1234 is not json'));
  try {
    const err = await rejectsWith(new ClientCredentialsMinter(spec(server.url)).token(), 'ERR_OAUTH2_BAD_RESPONSE', [SECRET, 'tok-garbage']);
    assert.equal(err.details.reason, 'not_json');
  } finally {
    await server.close();
  }
});

test('a response without access_token is ERR_OAUTH2_BAD_RESPONSE', async () => {
  const server = await tokenServer((_req, res) => json(res, 200, { token_type: 'Bearer', expires_in: 3600 }));
  try {
    const err = await rejectsWith(new ClientCredentialsMinter(spec(server.url)).token(), 'ERR_OAUTH2_BAD_RESPONSE');
    assert.equal(err.details.reason, 'access_token');
  } finally {
    await server.close();
  }
});

test('a token_type other than bearer is ERR_OAUTH2_BAD_RESPONSE, without the token', async () => {
  const server = await tokenServer((_req, res) => json(res, 200, { access_token: 'tok-mac-secret', token_type: 'mac', expires_in: 3600 }));
  try {
    const err = await rejectsWith(new ClientCredentialsMinter(spec(server.url)).token(), 'ERR_OAUTH2_BAD_RESPONSE', [SECRET, 'tok-mac-secret']);
    assert.equal(err.details.reason, 'token_type');
    assert.match(err.message, /"mac"/);
  } finally {
    await server.close();
  }
});

test('a non-positive expires_in is ERR_OAUTH2_BAD_RESPONSE', async () => {
  const server = await tokenServer((_req, res) => json(res, 200, { access_token: 'tok-x', expires_in: 0 }));
  try {
    const err = await rejectsWith(new ClientCredentialsMinter(spec(server.url)).token(), 'ERR_OAUTH2_BAD_RESPONSE', [SECRET, 'tok-x']);
    assert.equal(err.details.reason, 'expires_in');
  } finally {
    await server.close();
  }
});

test('a response over 64 KiB is ERR_OAUTH2_BAD_RESPONSE, declared or streamed', async () => {
  const big = JSON.stringify({ access_token: `tok-big-${'x'.repeat(70 * 1024)}`, expires_in: 3600 });
  const server = await tokenServer((req, res) => {
    if (req.url.endsWith('/declared')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(big) });
      res.end(big);
    } else {
      // Chunked, no content-length: the cap must hold while reading.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(big.slice(0, 40 * 1024));
      res.end(big.slice(40 * 1024));
    }
  });
  try {
    for (const suffix of ['/declared', '/streamed']) {
      const err = await rejectsWith(new ClientCredentialsMinter(spec(server.url + suffix)).token(), 'ERR_OAUTH2_BAD_RESPONSE', [SECRET, 'tok-big']);
      assert.equal(err.details.reason, 'too_large', suffix);
    }
    assert.equal(server.seen.length, 2);
  } finally {
    await server.close();
  }
});

test('an endpoint that never answers is ERR_OAUTH2_UNREACHABLE after timeoutMs', async () => {
  const server = await tokenServer(() => {
    // Never answers.
  });
  try {
    const started = Date.now();
    const err = await rejectsWith(new ClientCredentialsMinter(spec(server.url, { timeoutMs: 200 })).token(), 'ERR_OAUTH2_UNREACHABLE');
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 150 && elapsed < 2000, `took ${elapsed} ms`);
    assert.match(err.message, /200 ms/);
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

test('a closed port is ERR_OAUTH2_UNREACHABLE', async () => {
  const server = await tokenServer(issue());
  await server.close();
  const err = await rejectsWith(new ClientCredentialsMinter(spec(server.url)).token(), 'ERR_OAUTH2_UNREACHABLE');
  assert.match(err.message, /ECONNREFUSED/);
});

test('a missing secret is ERR_OAUTH2_SECRET_MISSING, sends nothing, and is not backed off', async () => {
  const server = await tokenServer(issue());
  try {
    let secret: string | undefined;
    const minter = new ClientCredentialsMinter(spec(server.url, { clientSecret: () => secret }), { now: () => 0 });
    const err = await rejectsWith(minter.token(), 'ERR_OAUTH2_SECRET_MISSING');
    assert.equal(err.details.clientId, CLIENT_ID);
    assert.equal(server.seen.length, 0);
    secret = 'now-stored';
    assert.equal(await minter.token(), 'tok-1', 'works as soon as the secret is stored, same instant');
  } finally {
    await server.close();
  }
});

test('after a failure, calls fail fast for failureBackoffMs, then recover', async () => {
  const server = await tokenServer((req, res, n) => (n === 1 ? json(res, 503, { error: 'temporarily_unavailable' }) : issue()(req, res, n)));
  try {
    let now = 0;
    const minter = new ClientCredentialsMinter(spec(server.url, { failureBackoffMs: 1000 }), { now: () => now });
    const first = await rejectsWith(minter.token(), 'ERR_OAUTH2_REJECTED');
    assert.equal(first.details.status, 503);
    now = 999;
    const fast = await rejectsWith(minter.token(), 'ERR_OAUTH2_REJECTED');
    assert.equal(fast.cause, first, 'the fast failure carries the real one');
    assert.equal(fast.details.retryInMs, 1);
    assert.equal(server.seen.length, 1, 'no request during the backoff');
    now = 1000;
    assert.equal(await minter.token(), 'tok-2');
    assert.equal(server.seen.length, 2);
  } finally {
    await server.close();
  }
});

test('failureBackoffMs 0 retries at once', async () => {
  const server = await tokenServer((req, res, n) => (n === 1 ? json(res, 500, {}) : issue()(req, res, n)));
  try {
    const minter = new ClientCredentialsMinter(spec(server.url, { failureBackoffMs: 0 }), { now: () => 0 });
    await rejectsWith(minter.token(), 'ERR_OAUTH2_REJECTED');
    assert.equal(await minter.token(), 'tok-2');
  } finally {
    await server.close();
  }
});

test('a bad spec is refused at construction, naming the option', () => {
  const cases: [Partial<ClientCredentialsSpec>, string][] = [
    [{ tokenUrl: 'not a url' }, 'tokenUrl'],
    [{ tokenUrl: 'ftp://idp.example/token' }, 'tokenUrl'],
    [{ tokenUrl: 'https://id:hunter2@idp.example/token' }, 'tokenUrl'],
    [{ clientId: '' }, 'clientId'],
    [{ scopes: ['read', 'two words'] }, 'scopes[1]'],
    [{ auth: 'jwt' as 'basic' }, 'auth'],
    [{ timeoutMs: 0 }, 'timeoutMs'],
    [{ refreshSkewMs: -1 }, 'refreshSkewMs'],
    [{ failureBackoffMs: Number.NaN }, 'failureBackoffMs'],
  ];
  for (const [override, option] of cases) {
    assert.throws(() => new ClientCredentialsMinter(spec('https://idp.example/token', override)), (err: unknown) => {
      assert.ok(err instanceof SluiceError);
      assert.equal(err.code, 'ERR_CONFIG_INVALID');
      assert.equal(err.details.option, option);
      assert.ok(!err.message.includes('hunter2'));
      return true;
    });
  }
});

test('facts: the expiry the endpoint stated and a JWT token\'s jti, for the token it holds only', async () => {
  const jwt = `e30.${Buffer.from(JSON.stringify({ jti: 'tok-jti-7', sub: 'svc' })).toString('base64url')}.sig`;
  let n = 0;
  const server = await tokenServer((_req, res) => json(res, 200, n++ === 0 ? { access_token: jwt, token_type: 'Bearer', expires_in: 60 } : { access_token: 'opaque-2', token_type: 'Bearer' }));
  let now = 1_000_000;
  try {
    const minter = new ClientCredentialsMinter(spec(server.url, { refreshSkewMs: 0 }), { now: () => now });
    assert.equal(minter.clientId, spec(server.url).clientId);
    const token = await minter.token();
    assert.deepEqual(minter.facts(token), { expiresAt: 1_060_000, jti: 'tok-jti-7' });
    assert.equal(minter.facts('some-other-token'), undefined, 'not a way to learn about tokens it does not hold');
    now += 61_000;
    const opaque = await minter.token();
    assert.deepEqual(minter.facts(opaque), {}, 'no expires_in, no jti: nothing the minter knows');
    assert.equal(minter.facts(token), undefined);
  } finally {
    await server.close();
  }
});
