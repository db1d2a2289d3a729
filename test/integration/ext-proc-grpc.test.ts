import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { externalProcessorService } from '../../common/protos.ts';
import { parseConfig } from '../../common/config.ts';
import { closeServer, listen, readBody } from '../../common/http.ts';
import { encodeDecision, HTTP_DECISION_NAMESPACE } from '../../common/decision-metadata.ts';
import { startExtProcService, type ExtProcService } from '../../ext-proc/service.ts';
import { capturedLogger } from '../harness/log-capture.ts';

const CARD = '4111 1111 1111 1111';
const CLIENT_SECRET = 'oauth-client-secret-value-0001';
const STATIC_SECRET = 'static-upstream-secret-0001';

/** The dynamic metadata Envoy forwards from ext_authz, encoded as ext-authz's CheckResponse encodes it. */
function decision(target: string, masking?: string) {
  return {
    filter_metadata: {
      [HTTP_DECISION_NAMESPACE]: encodeDecision({
        v: 1, protocol: 'http', sessionId: `s-${Math.random().toString(36).slice(2)}`, requestId: 'req-1', target, rule: 'p/r',
        subject: 'alice', issuer: 'dev', groups: [], approvalId: null, masking: masking ?? null,
      }),
    },
  };
}

const headerMap = (headers: Record<string, string>) => ({ headers: Object.entries(headers).map(([key, value]) => ({ key, raw_value: Buffer.from(value) })) });

/** One ext_proc stream: send a message, read exactly one answer, in order, as Envoy does. */
function openStream(client: grpc.Client & { Process: Function }) {
  const call = client.Process();
  const answers: any[] = [];
  const waiting: ((m: any) => void)[] = [];
  call.on('data', (m: any) => {
    const next = waiting.shift();
    if (next) next(m);
    else answers.push(m);
  });
  call.on('error', () => undefined);
  return {
    send(message: object): Promise<any> {
      call.write(message);
      const ready = answers.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
    end: () => call.end(),
  };
}

const setHeaders = (answer: any, phase: string) =>
  Object.fromEntries((answer[phase]?.response?.header_mutation?.set_headers ?? []).map((h: any) => [h.header.key, Buffer.from(h.header.raw_value).toString()]));

describe('ext-proc over real gRPC (Envoy ext_proc protos, port 0)', () => {
  let service: ExtProcService;
  let client: grpc.Client & { Process: Function };
  let tokenEndpoint: Server;
  let mints = 0;
  let dir: string;
  const logs = capturedLogger('ext-proc');

  before(async () => {
    tokenEndpoint = createServer((req, res) => {
      void readBody(req).then(() => {
        mints += 1;
        const basic = Buffer.from(String(req.headers.authorization).replace(/^Basic /, ''), 'base64').toString();
        if (basic !== `billing-client:${CLIENT_SECRET}`) {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `minted-token-${mints}`, token_type: 'Bearer', expires_in: 3600 }));
      });
    });
    const tokenPort = await listen(tokenEndpoint, 0);
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-ext-proc-it-'));
    const config = parseConfig(JSON.stringify({
      targets: ['static-api', 'billing-api'].map((name) => ({ name, endpoints: ['127.0.0.1:9'], http: { pathPrefix: `/${name}/` } })),
      extProc: {
        credentials: [
          { target: 'static-api', secret: 'static-token' },
          { target: 'billing-api', oauth2: { tokenUrl: `http://127.0.0.1:${tokenPort}/token`, clientId: 'billing-client', clientSecret: 'billing-client-secret', scopes: ['billing.read'] } },
        ],
        masking: {
          profiles: [
            { name: 'pii', recognizers: [{ use: 'card', strategy: 'keep-last-4' }] },
            { name: 'pii-in', recognizers: [{ use: 'card', strategy: 'redact' }], requestBodies: true },
          ],
          targets: { 'static-api': 'pii' },
        },
        sessions: { store: 'off' },
      },
    }), path.join(dir, 'sluice.yaml'));
    service = await startExtProcService(config, {
      logger: logs.logger, port: 0,
      env: { SLUICE_SECRET_STATIC_TOKEN: STATIC_SECRET, SLUICE_SECRET_BILLING_CLIENT_SECRET: CLIENT_SECRET },
    });
    const Client = externalProcessorService();
    client = new Client(`127.0.0.1:${service.port}`, grpc.credentials.createInsecure()) as any;
  });

  after(async () => {
    client?.close();
    await service?.close();
    await closeServer(tokenEndpoint);
    rmSync(dir, { recursive: true, force: true });
  });

  test('request headers: the stored secret is injected as raw_value, caller credentials removed', async () => {
    const stream = openStream(client);
    const answer = await stream.send({
      request_headers: { headers: headerMap({ ':method': 'GET', ':path': '/x', authorization: 'Bearer caller-token', cookie: 'a=b' }), end_of_stream: true },
      metadata_context: decision('static-api'),
    });
    stream.end();
    assert.equal(setHeaders(answer, 'request_headers').authorization, `Bearer ${STATIC_SECRET}`);
    assert.deepEqual(answer.request_headers.response.header_mutation.remove_headers.sort(), ['cookie']);
  });

  test('an OAuth2 target gets a minted token; concurrent exchanges share one mint', async () => {
    const before = mints;
    const answers = await Promise.all(Array.from({ length: 10 }, async () => {
      const stream = openStream(client);
      const answer = await stream.send({ request_headers: { headers: headerMap({ ':method': 'GET', ':path': '/b' }), end_of_stream: true }, metadata_context: decision('billing-api') });
      stream.end();
      return setHeaders(answer, 'request_headers').authorization;
    }));
    assert.equal(mints - before, 1, 'one token request for ten exchanges');
    assert.ok(answers.every((a) => a === answers[0] && /^Bearer minted-token-\d+$/.test(a)), JSON.stringify(answers));
    assert.ok(!logs.text().includes(CLIENT_SECRET), 'the client secret is never logged');
  });

  test('request body masking: the decision names a profile with requestBodies; every chunk answer carries the masked bytes', async () => {
    const stream = openStream(client);
    const headers = await stream.send({
      request_headers: { headers: headerMap({ ':method': 'POST', ':path': '/u', 'content-type': 'application/json', 'content-length': '40' }) },
      metadata_context: decision('billing-api', 'pii-in'),
    });
    assert.deepEqual(headers.request_headers.response.header_mutation.remove_headers, ['content-length']);
    assert.equal(headers.mode_override.request_body_mode, 'STREAMED', 'the request body is asked for');
    const parts = ['{"card":"4111 1111 ', '1111 1111","n":1}'];
    const out: Buffer[] = [];
    for (const [i, part] of parts.entries()) {
      const answer = await stream.send({ request_body: { body: Buffer.from(part), end_of_stream: i === parts.length - 1 } });
      out.push(Buffer.from(answer.request_body.response.body_mutation?.body ?? []));
    }
    stream.end();
    const delivered = Buffer.concat(out).toString();
    assert.equal(delivered, '{"card":"[REDACTED:card]","n":1}');
  });

  test('a profile ext-proc does not have: the exchange is refused (500), never passed unmasked', async () => {
    const stream = openStream(client);
    const answer = await stream.send({ request_headers: { headers: headerMap({ ':method': 'GET', ':path': '/x' }), end_of_stream: true }, metadata_context: decision('static-api', 'no-such-profile') });
    stream.end();
    assert.equal(answer.immediate_response?.status?.code, 'InternalServerError');
    assert.match(String(answer.immediate_response.body), /ERR_MASKING_PROFILE_UNKNOWN/);
  });

  test('no ext-authz decision: refused (403)', async () => {
    const stream = openStream(client);
    const answer = await stream.send({ request_headers: { headers: headerMap({ ':method': 'GET', ':path': '/x' }), end_of_stream: true } });
    stream.end();
    assert.equal(answer.immediate_response?.status?.code, 'Forbidden');
  });

  test('the profile the decision names (ext-authz resolved the target default) masks response chunks; a card split across them is still masked', async () => {
    const stream = openStream(client);
    await stream.send({ request_headers: { headers: headerMap({ ':method': 'GET', ':path': '/x' }), end_of_stream: true }, metadata_context: decision('static-api', 'pii') });
    const headers = await stream.send({ response_headers: { headers: headerMap({ ':status': '200', 'content-type': 'application/json' }) } });
    assert.deepEqual(headers.response_headers.response.header_mutation.remove_headers, ['content-length']);
    const out: Buffer[] = [];
    for (const [i, part] of ['{"c":"4111 11', '11 1111 1111"}'].entries()) {
      const answer = await stream.send({ response_body: { body: Buffer.from(part), end_of_stream: i === 1 } });
      out.push(Buffer.from(answer.response_body.response.body_mutation?.body ?? []));
    }
    stream.end();
    assert.equal(Buffer.concat(out).toString(), '{"c":"**** **** **** 1111"}');
    assert.ok(!Buffer.concat(out).toString().includes(CARD));
  });
});
