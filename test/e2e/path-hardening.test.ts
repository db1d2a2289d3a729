import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Gateway } from '../harness/gateway.ts';

const FIXTURE_POLICIES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));

/**
 * Raw request lines over node:net, so no client library re-encodes or normalises the path: the
 * bytes written are the bytes Envoy parses. Every case sits under /api/**, which the fixture
 * policy allows for alice on GET; before the fix each `sluice` case below reached the upstream.
 */
interface RawResponse { status: number; body: string; closedWithoutAnswer: boolean }

function rawGet(port: number, target: Buffer, token: string | undefined): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      if (text === '') return resolve({ status: 0, body: '', closedWithoutAnswer: true });
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
      const head = text.indexOf('\r\n\r\n');
      let body = text.slice(head + 4);
      if (/\r\ntransfer-encoding: chunked/i.test(text.slice(0, head))) body = body.replace(/^[0-9a-f]+\r\n/i, '').replace(/\r\n0\r\n\r\n$/, '');
      resolve({ status, body, closedWithoutAnswer: false });
    });
    const auth = token === undefined ? '' : `authorization: Bearer ${token}\r\n`;
    // write, not end: Envoy treats a half-closed downstream as gone and answers nothing.
    socket.write(Buffer.concat([Buffer.from('GET '), target, Buffer.from(` HTTP/1.1\r\nhost: localhost\r\n${auth}connection: close\r\n\r\n`)]));
  });
}

/**
 * Who refuses the path: ext-authz with its reason, or Envoy itself (normalize_path and
 * path_with_escaped_slashes_action, or its HTTP/1 codec) with the JSON body the generated
 * local_reply_config gives it, its response code detail as the reason.
 */
type Refusal = { by: 'sluice'; reason: string } | { by: 'envoy'; code: string; reason: string };

const sluice = (reason: string): Refusal => ({ by: 'sluice', reason });
const ENVOY_NORMALISATION: Refusal = { by: 'envoy', code: 'ERR_PATH_AMBIGUOUS', reason: 'path_normalization_failed' };
const envoyCodec = (reason: string): Refusal => ({ by: 'envoy', code: 'ERR_REQUEST_MALFORMED', reason });

// What each case got through Envoy 1.40 with normalize_path, merge_slashes and
// path_with_escaped_slashes_action: REJECT_REQUEST (measured; the `sluice` ones Envoy passed on).
// Before the local replies, Envoy's were a 400 with an empty body, and the codec's were lost
// (ext_proc in the chain of a request without headers): the connection closed without an answer.
const CASES: [string, Buffer, Refusal][] = [
  ['double encoding of dot-segments', Buffer.from('/api/%252e%252e/admin'), sluice('double-encoding')],
  ['triple encoding', Buffer.from('/api/%25252e%25252e/admin'), sluice('double-encoding')],
  ['double-encoded slash', Buffer.from('/api/..%252fadmin'), sluice('double-encoding')],
  ['encoded slash', Buffer.from('/api/..%2fadmin'), ENVOY_NORMALISATION],
  ['encoded backslash', Buffer.from('/api/..%5cadmin'), ENVOY_NORMALISATION],
  ['encoded NUL', Buffer.from('/api/a%00b'), ENVOY_NORMALISATION],
  ['encoded control character', Buffer.from('/api/a%01b'), sluice('encoded-control')],
  ['encoded CRLF', Buffer.from('/api/a%0d%0ab'), sluice('encoded-control')],
  ['encoded DEL', Buffer.from('/api/a%7fb'), sluice('encoded-control')],
  ['encoded semicolon', Buffer.from('/api/a%3bx=1'), sluice('encoded-delimiter')],
  ['encoded question mark', Buffer.from('/api/a%3fb'), sluice('encoded-delimiter')],
  ['encoded hash', Buffer.from('/api/a%23b'), sluice('encoded-delimiter')],
  ['fullwidth dots (NFKC ..)', Buffer.from('/api/%EF%BC%8E%EF%BC%8E/admin'), sluice('encoded-delimiter')],
  ['overlong 2-byte dots', Buffer.from('/api/%C0%AE%C0%AE/admin'), sluice('invalid-utf8')],
  ['overlong 3-byte dot', Buffer.from('/api/%E0%80%AE'), sluice('invalid-utf8')],
  ['overlong slash', Buffer.from('/api/..%C0%AFadmin'), sluice('invalid-utf8')],
  ['malformed escape', Buffer.from('/api/a%zz'), sluice('invalid-escape')],
  ['IIS %u escape', Buffer.from('/api/%u002e%u002e/admin'), sluice('invalid-escape')],
  ['path parameter', Buffer.from('/api/a;jsessionid=1'), sluice('path-parameter')],
  ['path parameter mid-path', Buffer.from('/api/a;x=1/b'), sluice('path-parameter')],
  ['raw NUL', Buffer.from('/api/a\x00b', 'latin1'), envoyCodec('http1.invalid_characters')],
  ['raw control character', Buffer.from('/api/a\x01b', 'latin1'), envoyCodec('http1.invalid_characters')],
  ['raw overlong UTF-8 dots', Buffer.from('/api/\xc0\xae\xc0\xae/admin', 'latin1'), envoyCodec('http1.codec_error')],
  ['raw non-ASCII', Buffer.from('/api/caf\xc3\xa9', 'latin1'), envoyCodec('http1.codec_error')],
];

describe('path hardening through real Envoy', () => {
  let gw: Gateway;
  let token: string;

  before(async () => {
    gw = await Gateway.start({ policySource: FIXTURE_POLICIES });
    token = await gw.issuer.mint({ sub: 'alice', groups: ['engineering'] });
  });

  after(async () => {
    await gw?.stop();
  });

  const get = (target: string | Buffer, withToken = true) => rawGet(gw.envoy.httpPort, Buffer.isBuffer(target) ? target : Buffer.from(target), withToken ? token : undefined);

  for (const [name, target, refusal] of CASES) {
    test(`${name}: ${refusal.by === 'sluice' ? `400 ERR_PATH_AMBIGUOUS (${refusal.reason})` : `Envoy: 400 ${refusal.code} (${refusal.reason})`}, never upstream`, async () => {
      const before = gw.upstream.seen.length;
      const res = await get(target);
      switch (refusal.by) {
        case 'sluice': {
          assert.equal(res.status, 400);
          const body = JSON.parse(res.body);
          assert.equal(body.error.code, 'ERR_PATH_AMBIGUOUS');
          assert.equal(body.reason, refusal.reason);
          assert.ok(typeof body.request_id === 'string' && body.request_id !== '');
          break;
        }
        case 'envoy': {
          assert.ok(!res.closedWithoutAnswer, 'an answer, not a closed connection');
          assert.equal(res.status, 400);
          const body = JSON.parse(res.body);
          assert.deepEqual([body.error.code, body.reason], [refusal.code, refusal.reason], 'Envoy refuses it itself, before ext-authz, with the JSON body');
          break;
        }
      }
      assert.equal(gw.upstream.seen.length, before, 'the upstream never saw it');
    });
  }

  test('an ambiguous path is refused before identity: no token still gets 400, not 401', async () => {
    const res = await get('/api/%252e%252e/admin', false);
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).error.code, 'ERR_PATH_AMBIGUOUS');
  });

  test('legitimately encoded paths still work and reach the upstream exactly as sent', async () => {
    for (const path of ['/api/a%20b', '/api/a%2Bb', '/api/caf%C3%A9', '/api/.well-known']) {
      const res = await get(`${path}?q=%252e`);
      assert.equal(res.status, 200, path);
      assert.equal(JSON.parse(res.body).path, `${path}?q=%252e`, 'the upstream got the path that was authorized');
    }
  });

  test('what Envoy normalises is decided on and sent in its normalised form', async () => {
    // normalize_path decodes %2E and resolves dot-segments, merge_slashes merges `//`, and a raw
    // `\` becomes `/`, and (Chromium's canonicaliser) `..;` counts as `..`: ext-authz sees the
    // result, and the upstream gets that same path.
    for (const [sent, upstream] of [['/api/%2E/x', '/api/x'], ['/api//x', '/api/x'], ['/api/a\\b', '/api/a/b'], ['/api/x/..', '/api/'], ['/api/x/..;/y', '/api/y']]) {
      const res = await get(sent!);
      assert.equal(res.status, 200, sent);
      assert.equal(JSON.parse(res.body).path, upstream, sent);
    }
    for (const sent of ['/api/../admin', '/api/..;/admin']) {
      const escaped = await get(sent);
      assert.equal(escaped.status, 403, `${sent} resolved to /admin, which the policy does not allow on this target`);
    }
  });
});
