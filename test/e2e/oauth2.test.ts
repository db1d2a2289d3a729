import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { closeServer, listen, readBody } from '../../common/http.ts';
import { Gateway, TEST_SECRETS } from '../harness/gateway.ts';
import { waitFor } from '../harness/wait.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));
const CLIENT_SECRET = 'demo-oauth-client-secret-0001';
const ROTATED_SECRET = 'demo-oauth-client-secret-0002';
/** Short, so the test can watch tokens expire and be replaced. */
const TOKEN_LIFETIME_S = 2;

/**
 * A token endpoint that accepts whichever client secret is current and hands out numbered,
 * short-lived tokens, counting requests (how the test sees caching and single flight).
 */
class TokenEndpoint {
  mints = 0;
  secret = CLIENT_SECRET;
  down = false;
  expiresIn = TOKEN_LIFETIME_S;
  readonly issued: string[] = [];
  readonly forms: URLSearchParams[] = [];
  private server!: Server;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void readBody(req).then((body) => {
        if (this.down) return res.destroy();
        this.mints += 1;
        this.forms.push(new URLSearchParams(body.toString()));
        const [id, secret] = Buffer.from(String(req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString().split(':');
        if (id !== 'demo-client' || decodeURIComponent(secret ?? '') !== this.secret) {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
          return;
        }
        const token = `upstream-token-${this.mints}-${Math.random().toString(36).slice(2)}`;
        this.issued.push(token);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: this.expiresIn }));
      });
    });
    this.port = await listen(this.server, 0);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }
}

describe('OAuth2 client-credentials tokens injected through real Envoy', () => {
  let gw: Gateway;
  let endpoint: TokenEndpoint;
  let alice: string;

  before(async () => {
    endpoint = new TokenEndpoint();
    await endpoint.start();
    gw = await Gateway.start({
      policySource: FIXTURE_POLICIES,
      secrets: { 'demo-client-secret': CLIENT_SECRET },
      credentials: [{
        target: 'demo-api', header: 'authorization', template: 'Bearer {secret}',
        oauth2: { tokenUrl: `http://127.0.0.1:${endpoint.port}/oauth/token`, clientId: 'demo-client', clientSecret: 'demo-client-secret', scopes: ['orders.read'], refreshSkewMs: 0, timeoutMs: 1000 },
      }],
    });
    alice = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
  });
  after(async () => {
    await gw?.stop();
    await endpoint?.close();
  });

  const lastSeen = (fragment: string) => [...gw.upstream.seen].reverse().find((s) => s.path.includes(fragment));

  test('the upstream sees a minted token, never the caller\'s; concurrent requests share one mint', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => gw.request(`/api/items?case=oauth-${i}`, { token: alice })));
    assert.ok(results.every((r) => r.status === 200), results.map((r) => r.status).join());
    const again = await gw.request('/api/items?case=oauth-again', { token: alice });
    assert.equal(again.status, 200);
    assert.equal(endpoint.mints, 1, 'nine requests within the token\'s lifetime, one token request');
    assert.equal(endpoint.forms[0]!.get('grant_type'), 'client_credentials');
    assert.equal(endpoint.forms[0]!.get('scope'), 'orders.read');
    for (const fragment of [...Array.from({ length: 8 }, (_, i) => `case=oauth-${i}`), 'case=oauth-again']) {
      assert.equal(lastSeen(fragment)?.headers.authorization, `Bearer ${endpoint.issued[0]}`);
    }
    // The audit record names the grant (client id, the client secret's version, the token's
    // expiry), never the client secret or the minted token.
    {
      const record = await gw.recordFor('case=oauth-again', { subject: 'alice' });
      const credential = record.credential!;
      assert.equal(credential.kind, 'oauth2');
      assert.equal(credential.target, 'demo-api');
      assert.equal(credential.oauth2!.clientId, 'demo-client');
      assert.equal(credential.oauth2!.clientSecret.name, 'demo-client-secret');
      assert.equal(credential.oauth2!.clientSecret.version, gw.proc!.versions.version('demo-client-secret'));
      assert.ok(Math.abs(credential.oauth2!.expiresAt! - (Date.now() + TOKEN_LIFETIME_S * 1000)) < 60_000, 'the minted token\'s expiry');
      const text = JSON.stringify(record);
      assert.ok(!text.includes(CLIENT_SECRET) && !text.includes(endpoint.issued[0]!), 'neither the client secret nor the token is in the record');
    }
  });

  test('an expired token is replaced; a rotated client secret is used by the next mint, with no restart', async () => {
    endpoint.secret = ROTATED_SECRET;
    Gateway.writeSecretsFile(gw.secretsFile, { ...TEST_SECRETS, 'demo-client-secret': ROTATED_SECRET });
    await waitFor(() => gw.proc!.secrets.get('demo-client-secret') === ROTATED_SECRET, 5000);
    await sleep(TOKEN_LIFETIME_S * 1000 + 100);
    const mintsBefore = endpoint.mints;
    const res = await gw.request('/api/items?case=oauth-rotated', { token: alice });
    assert.equal(res.status, 200, res.text);
    assert.equal(endpoint.mints, mintsBefore + 1, 'one new token request, accepted with the rotated secret');
    assert.equal(lastSeen('case=oauth-rotated')?.headers.authorization, `Bearer ${endpoint.issued.at(-1)}`);
  });

  test('token endpoint down: the request is refused (503) and never reaches the upstream; it recovers', async () => {
    await sleep(TOKEN_LIFETIME_S * 1000 + 100);
    endpoint.down = true;
    const before = gw.upstream.seen.length;
    const refused = await gw.request('/api/items?case=oauth-down', { token: alice });
    assert.equal(refused.status, 503);
    assert.equal(refused.json().error.code, 'ERR_SECRET_UNAVAILABLE');
    assert.equal(gw.upstream.seen.length, before, 'nothing reached the upstream');
    assert.ok(gw.procLogs.lines.some((l) => l.includes('ERR_OAUTH2_UNREACHABLE')), 'the reason is logged');
    endpoint.down = false;
    await sleep(1100); // the minter's failure backoff
    const recovered = await gw.request('/api/items?case=oauth-up', { token: alice });
    assert.equal(recovered.status, 200, recovered.text);
  });

  test('no client secret, minted token or caller token in any log', () => {
    const logs = [gw.procLogs.text(), gw.logs.text(), gw.decisions.text()].join('\n');
    for (const value of [CLIENT_SECRET, ROTATED_SECRET, alice, ...endpoint.issued]) assert.ok(!logs.includes(value));
  });
});
