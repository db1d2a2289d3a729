/**
 * A child for ext-proc/journal-recovery.test.ts: real recording (file store, open-exchange journal)
 * behind a real HttpExchangeProcessor. It completes one exchange, leaves one streaming its
 * response and one waiting for its response, prints "ready" and waits to be SIGKILLed.
 * Usage: node --import tsx test/harness/journal-crash-child.ts <sluice.yaml> <instance> <secret>
 */
import { parseConfig } from '../../common/config.ts';
import { readFileSync } from 'node:fs';
import { encodeDecision, HTTP_DECISION_NAMESPACE } from '../../common/decision-metadata.ts';
import { silentLogger } from '../../common/logger.ts';
import type { ProtoStruct, ProtoValue } from '../../common/struct.ts';
import { compileCredentials } from '../../ext-proc/credentials.ts';
import { HttpExchangeProcessor } from '../../ext-proc/http/processor.ts';
import { compileMaskingPlans } from '../../ext-proc/masking-plans.ts';
import { startRecording } from '../../ext-proc/recording-setup.ts';
import { SecretVersions } from '../../ext-proc/secrets/secret-versions.ts';

const [configFile, instance, secret] = process.argv.slice(2) as [string, string, string];
const config = parseConfig(readFileSync(configFile, 'utf8'), configFile);
const secrets = { get: (name: string) => (name === 'orders-key' ? secret : undefined), close: async () => {} };
const recording = (await startRecording(config, silentLogger(), secrets, instance))!;
const deps = {
  credentials: compileCredentials(config.extProc.credentials, secrets),
  masking: compileMaskingPlans(config.extProc.masking, secrets),
  secrets,
  versions: new SecretVersions(secrets, Buffer.alloc(32, 7)),
  removeRequestHeaders: [],
  logger: silentLogger(),
  recording: { queue: recording.queue, maxBodyBytes: 4096, storedWithinMs: recording.storedWithinMs, journal: recording.journal },
};

const decoded = (struct: ProtoStruct): unknown => ({ fields: Object.fromEntries(Object.entries(struct.fields).map(([key, value]) => [key, decodedValue(value)])) });
const decodedValue = (value: ProtoValue): unknown => {
  const [kind, inner] = Object.entries(value)[0] as [string, any];
  return { kind, [kind]: kind === 'structValue' ? decoded(inner) : kind === 'listValue' ? { values: inner.values.map(decodedValue) } : inner };
};
const headerMap = (lines: [string, string][]) => ({ headers: lines.map(([key, value]) => ({ key, raw_value: Buffer.from(value) })) });

function requestHeaders(sessionId: string, path: string) {
  return {
    request: 'request_headers',
    metadata_context: { filter_metadata: { [HTTP_DECISION_NAMESPACE]: decoded(encodeDecision({ v: 1, protocol: 'http', sessionId, requestId: `req-${sessionId.slice(0, 4)}`, target: 'orders-api', rule: 'p/r', subject: 'alice', issuer: 'dev', groups: [], approvalId: null, masking: 'pii' })) } },
    request_headers: { headers: headerMap([[':method', 'GET'], [':path', path], ['authorization', 'Bearer caller-token-never-recorded']]), end_of_stream: true },
  };
}
const responseHeaders = (status: number, endOfStream: boolean) => ({ request: 'response_headers', response_headers: { headers: headerMap([[':status', String(status)], ['content-type', 'application/json']]), end_of_stream: endOfStream } });

const [completed, streaming, waiting] = JSON.parse(process.env.JOURNAL_CHILD_IDS!) as [string, string, string];
const done = new HttpExchangeProcessor(deps);
await done.handle(requestHeaders(completed, '/orders-api/1'));
await done.handle(responseHeaders(200, true)); // completes: waits until its record left the process

const cut = new HttpExchangeProcessor(deps);
await cut.handle(requestHeaders(streaming, '/orders-api/by-mail/jane.doe@example.com'));
await cut.handle(responseHeaders(206, false));
await cut.handle({ request: 'response_body', response_body: { body: Buffer.from('{"part":'), end_of_stream: false } });

const held = new HttpExchangeProcessor(deps);
await held.handle(requestHeaders(waiting, '/orders-api/2'));

setImmediate(() => process.stdout.write('ready\n'));
setInterval(() => undefined, 60_000);
