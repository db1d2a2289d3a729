/**
 * What the open-exchange journal costs on the data path, side by side in one run: recorded HTTP
 * exchanges through a real HttpExchangeProcessor (request headers, response headers, a streamed
 * body in two chunks) behind the recording queue and the real file store, with the journal (what
 * ext-proc does) and without (before). Rounds alternate so both see the same machine; each round
 * runs `--concurrency` exchanges at once, each last answer waiting for its record to leave the
 * process (onFull: deny). Reports exchanges per second and the journal's syscalls.
 *
 *   npm run bench:journal [-- --exchanges 2000 --concurrency 16 --rounds 6 --journal-dir /dev/shm]
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { encodeDecision, HTTP_DECISION_NAMESPACE } from '../common/decision-metadata.ts';
import { silentLogger } from '../common/logger.ts';
import type { ProtoStruct, ProtoValue } from '../common/struct.ts';
import { HttpExchangeProcessor } from '../ext-proc/http/processor.ts';
import { MaskingPlans } from '../ext-proc/masking-plans.ts';
import { SecretVersions } from '../ext-proc/secrets/secret-versions.ts';
import { FileSessionStore } from '../ext-proc/sessions/file-store.ts';
import { OpenJournal } from '../ext-proc/sessions/open-journal.ts';
import { RecordingQueue } from '../ext-proc/sessions/queue.ts';
import { median } from './lib/stats.ts';

const { values } = parseArgs({ options: {
  exchanges: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '16' }, rounds: { type: 'string', default: '6' }, 'journal-dir': { type: 'string', default: '' }, help: { type: 'boolean', default: false },
} });
if (values.help) {
  console.log('usage: npm run bench:journal [-- --exchanges N --concurrency C --rounds R --journal-dir DIR]\nRecorded HTTP exchanges per second through the ext-proc processor, with and without the open-exchange journal (alternating rounds, file store).');
  process.exit(0);
}
const exchanges = Number.parseInt(values.exchanges!, 10);
const concurrency = Number.parseInt(values.concurrency!, 10);
const rounds = Number.parseInt(values.rounds!, 10);

const decoded = (struct: ProtoStruct): unknown => ({ fields: Object.fromEntries(Object.entries(struct.fields).map(([key, value]) => [key, decodedValue(value)])) });
const decodedValue = (value: ProtoValue): unknown => {
  const [kind, inner] = Object.entries(value)[0] as [string, any];
  return { kind, [kind]: kind === 'structValue' ? decoded(inner) : kind === 'listValue' ? { values: inner.values.map(decodedValue) } : inner };
};
const headerMap = (lines: [string, string][]) => ({ headers: lines.map(([key, value]) => ({ key, raw_value: Buffer.from(value) })) });
const RESPONSE_HEADERS = { request: 'response_headers', response_headers: { headers: headerMap([[':status', '200'], ['content-type', 'application/json']]), end_of_stream: false } };
const CHUNK = Buffer.from('{"orders":[' + '{"id":1,"item":"book"},'.repeat(40));

const dir = await mkdtemp(path.join(tmpdir(), 'sluice-bench-journal-'));
const store = await FileSessionStore.open({ dir: path.join(dir, 'sessions'), logger: silentLogger() });
const queue = new RecordingQueue(store, { logger: silentLogger() });
// Beside the store by default (same filesystem, as the default config has it); --journal-dir elsewhere (e.g. a tmpfs).
const journalDir = values['journal-dir'] ? await mkdtemp(path.join(values['journal-dir'], 'sluice-bench-journal-')) : path.join(dir, 'journal');
const journal = OpenJournal.open({ dir: journalDir, instance: 'bench', logger: silentLogger() });
const secrets = { get: () => undefined, close: async () => {} };
const base = {
  credentials: new Map(), masking: new MaskingPlans(new Map()), secrets, versions: new SecretVersions(secrets, Buffer.alloc(32, 7)),
  removeRequestHeaders: [], logger: silentLogger(),
};
// As ext-proc runs with onFull: deny: the last answer waits until its record left the process.
const withJournal = { ...base, recording: { queue, maxBodyBytes: 4096, storedWithinMs: 250, journal } };
const without = { ...base, recording: { queue, maxBodyBytes: 4096, storedWithinMs: 250 } };


async function exchange(deps: typeof withJournal | typeof without): Promise<void> {
  const sessionId = randomUUID();
  const processor = new HttpExchangeProcessor(deps);
  await processor.handle({
    request: 'request_headers',
    metadata_context: { filter_metadata: { [HTTP_DECISION_NAMESPACE]: decoded(encodeDecision({ v: 1, protocol: 'http', sessionId, requestId: sessionId, target: 'orders', rule: 'p/r', subject: 'alice', issuer: 'dev', groups: [], approvalId: null, masking: null })) } },
    request_headers: { headers: headerMap([[':method', 'GET'], [':path', '/orders?page=2'], ['authorization', 'Bearer x']]), end_of_stream: true },
  });
  await processor.handle(RESPONSE_HEADERS);
  await processor.handle({ request: 'response_body', response_body: { body: CHUNK, end_of_stream: false } });
  await processor.handle({ request: 'response_body', response_body: { body: CHUNK, end_of_stream: true } });
  processor.close();
}

async function round(deps: typeof withJournal | typeof without): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < exchanges) await exchange(deps);
  }));
  const rate = exchanges / ((performance.now() - started) / 1000);
  await queue.flush();
  return rate;
}

const rates = { journal: [] as number[], none: [] as number[] };
try {
  await round(without); // warm-up
  for (let i = 0; i < rounds; i++) {
    const first = i % 2 === 0;
    rates[first ? 'journal' : 'none'].push(await round(first ? withJournal : without));
    rates[first ? 'none' : 'journal'].push(await round(first ? without : withJournal));
  }
} finally {
  journal.close();
  await queue.close();
  await rm(dir, { recursive: true, force: true });
  await rm(journalDir, { recursive: true, force: true });
}
const journaled = rounds * exchanges;
const writes = journal.syscalls;
const costUs = (1e6 / median(rates.journal)) - (1e6 / median(rates.none));
console.log(`without journal (before)  ${median(rates.none).toFixed(0).padStart(7)} exchanges/s (median of ${rounds} rounds)`);
console.log(`with journal (now)        ${median(rates.journal).toFixed(0).padStart(7)} exchanges/s`);
console.log(`ratio with/without: ${(median(rates.journal) / median(rates.none)).toFixed(3)}   about ${costUs.toFixed(1)} µs per exchange`);
console.log(`journal syscalls (write, truncate, rewrite): ${writes} for ${journaled} exchanges (${(writes / journaled).toFixed(2)} per exchange), concurrency ${concurrency}, file store, no network, journal in ${values['journal-dir'] || 'the store\'s filesystem'}`);
