import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { isSluiceError } from '../../common/errors.ts';
import { approvalRequest, T0 } from './approval-fixtures.ts';
import { MultiNotifier, type ApprovalEvent, type ApprovalNotifier } from './notifier.ts';
import { WebhookNotifier, type WebhookFetch, type WebhookNotifierOptions } from './webhook.ts';

const SECRET = 'XoXbSeCrEtPaTh123';
const URL_WITH_SECRET = `https://hooks.example.com/services/T0/B0/${SECRET}`;

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function captureLogger() {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines, at: (level: 'warn' | 'error') => lines.filter((l) => l.level === (level === 'warn' ? 40 : 50)) };
}

type Step = number | 'network' | 'hang' | { status: number; retryAfter?: string };

/** A fetch that answers from a script; each call takes the next step (the last one repeats). */
function scriptedFetch(steps: Step[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetch: WebhookFetch = (url, init) => {
    calls.push({ url, init });
    const step = steps[Math.min(calls.length - 1, steps.length - 1)]!;
    if (step === 'network') return Promise.reject(new TypeError(`fetch failed for ${url}`, { cause: { code: 'ECONNREFUSED' } }));
    // Ignores its signal on purpose: the notifier must not depend on fetch honouring it.
    if (step === 'hang') return new Promise<Response>(() => undefined);
    const { status, retryAfter } = typeof step === 'number' ? { status: step, retryAfter: undefined } : step;
    return Promise.resolve(new Response('whatever', { status, headers: retryAfter ? { 'retry-after': retryAfter } : {} }));
  };
  return { fetch, calls };
}

function setup(steps: Step[], options: Partial<WebhookNotifierOptions> = {}) {
  const log = captureLogger();
  const net = scriptedFetch(steps);
  const sleeps: number[] = [];
  const notifier = new WebhookNotifier({
    url: URL_WITH_SECRET,
    format: 'json',
    logger: log.logger,
    fetch: net.fetch,
    sleep: async (ms) => void sleeps.push(ms),
    ...options,
  });
  return { notifier, log, net, sleeps };
}

const requested: ApprovalEvent = { type: 'approval.requested', request: approvalRequest() };

function assertNoSecret(lines: LogLine[]): void {
  for (const line of lines) assert.ok(!JSON.stringify(line).includes(SECRET), `log line leaks the webhook URL: ${JSON.stringify(line)}`);
}

describe('WebhookNotifier', () => {
  it('POSTs the json payload once on success', async () => {
    const { notifier, log, net, sleeps } = setup([200], { approvalsUrl: 'https://sluice-admin.example.com/' });
    notifier.notify(requested);
    await notifier.idle();
    assert.equal(net.calls.length, 1);
    const { url, init } = net.calls[0]!;
    assert.equal(url, URL_WITH_SECRET);
    assert.equal(init.method, 'POST');
    assert.equal((init.headers as Record<string, string>)['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(init.body as string), {
      type: 'approval.requested',
      approval: {
        id: 'apr-1',
        status: 'pending',
        subject: 'alice',
        issuer: 'people',
        target: 'billing',
        method: 'POST',
        path: '/admin/refunds',
        rule: 'billing/refunds',
        reason: 'INC-42 customer refund',
        created_at: '2030-01-01T00:00:00.000Z',
        expires_at: '2030-01-01T00:10:00.000Z',
        decided_at: null,
        decided_by: null,
        decision_reason: null,
        approvals_url: 'https://sluice-admin.example.com/approvals/apr-1',
      },
    });
    assert.deepEqual(sleeps, []);
    assert.equal(log.at('warn').length + log.at('error').length, 0);
  });

  it('notify returns at once and never throws, even before delivery settles', () => {
    const { notifier, net } = setup(['hang']);
    assert.equal(notifier.notify(requested), undefined);
    assert.equal(net.calls.length, 1);
    // A malformed event is logged and dropped, not thrown at the caller.
    assert.doesNotThrow(() => notifier.notify({ type: 'approval.requested', request: undefined } as unknown as ApprovalEvent));
    void notifier.close();
  });

  it('retries network errors and 5xx with exponential backoff, then succeeds', async () => {
    const { notifier, log, net, sleeps } = setup([503, 'network', 200]);
    notifier.notify(requested);
    await notifier.idle();
    assert.equal(net.calls.length, 3);
    assert.deepEqual(sleeps, [200, 400]);
    const warns = log.at('warn');
    assert.deepEqual(warns.map((w) => [w.attempt, w.status]), [[1, 503], [2, null]]);
    assert.match(String(warns[1]!.error), /ECONNREFUSED/);
    assert.equal(log.at('error').length, 0);
    assertNoSecret(log.lines);
  });

  it('gives up after maxAttempts with one error line', async () => {
    const { notifier, log, net, sleeps } = setup([500], { maxAttempts: 3, baseDelayMs: 100 });
    notifier.notify(requested);
    await notifier.idle();
    assert.equal(net.calls.length, 3);
    assert.deepEqual(sleeps, [100, 200]);
    assert.deepEqual(log.at('warn').map((w) => w.attempt), [1, 2, 3]);
    const errors = log.at('error');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.attempts, 3);
    assert.equal(errors[0]!.approval_id, 'apr-1');
    assert.equal(errors[0]!.webhook, 'https://hooks.example.com');
  });

  it('caps the backoff at maxDelayMs and honours Retry-After on 429', async () => {
    const { notifier, net, sleeps } = setup([{ status: 429, retryAfter: '3' }, 502, 502, 502, 200], { baseDelayMs: 1000, maxDelayMs: 5000 });
    notifier.notify(requested);
    await notifier.idle();
    assert.equal(net.calls.length, 5);
    assert.deepEqual(sleeps, [3000, 2000, 4000, 5000]);
  });

  for (const status of [400, 401, 403, 404, 410]) {
    it(`does not retry HTTP ${status}`, async () => {
      const { notifier, log, net, sleeps } = setup([status]);
      notifier.notify(requested);
      await notifier.idle();
      assert.equal(net.calls.length, 1);
      assert.deepEqual(sleeps, []);
      assert.equal(log.at('warn')[0]!.status, status);
      assert.equal(log.at('error').length, 1);
    });
  }

  it('ends a hung attempt at timeoutMs and retries it', async () => {
    const { notifier, log, net } = setup(['hang', 200], { timeoutMs: 20 });
    const started = Date.now();
    notifier.notify(requested);
    await notifier.idle();
    assert.ok(Date.now() - started < 1000);
    assert.equal(net.calls.length, 2);
    assert.ok((net.calls[0]!.init.signal as AbortSignal).aborted, 'the hung attempt is aborted');
    assert.match(String(log.at('warn')[0]!.error), /timed out after 20 ms/);
  });

  it('never logs the webhook URL, whose path is a credential', async () => {
    const { notifier, log } = setup(['network'], { maxAttempts: 2 });
    notifier.notify(requested);
    await notifier.idle();
    assert.ok(log.lines.length >= 3);
    assertNoSecret(log.lines);
  });

  it('bounds the queue and drops the oldest waiting notification', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const log = captureLogger();
    const delivered: string[] = [];
    const notifier = new WebhookNotifier({
      url: URL_WITH_SECRET,
      format: 'json',
      logger: log.logger,
      concurrency: 1,
      maxQueue: 2,
      fetch: async (_url, init) => {
        await gate;
        delivered.push((JSON.parse(init.body as string) as { approval: { id: string } }).approval.id);
        return new Response(null, { status: 204 });
      },
    });
    for (const id of ['a', 'b', 'c', 'd']) notifier.notify({ type: 'approval.requested', request: approvalRequest({ id }) });
    // a is in flight, b and c were queued, d pushed b out.
    const dropped = log.at('error');
    assert.equal(dropped.length, 1);
    assert.equal(dropped[0]!.approval_id, 'b');
    release();
    await notifier.idle();
    assert.deepEqual(delivered, ['a', 'c', 'd']);
  });

  it('close drops the queue, abandons retries and refuses new events', async () => {
    const log = captureLogger();
    const notifier = new WebhookNotifier({
      url: URL_WITH_SECRET,
      format: 'json',
      logger: log.logger,
      concurrency: 1,
      baseDelayMs: 60_000,
      fetch: async () => new Response(null, { status: 503 }),
    });
    notifier.notify(requested);
    notifier.notify({ type: 'approval.requested', request: approvalRequest({ id: 'queued' }) });
    await new Promise((resolve) => setImmediate(resolve));
    await notifier.close(); // would take minutes if the 60 s backoff were not cancelled
    notifier.notify(requested);
    assert.ok(log.lines.some((l) => l.msg.includes('queued notifications dropped')));
    assert.ok(log.lines.some((l) => l.msg.includes('closed; notification dropped')));
  });

  it('rejects bad options with ERR_CONFIG_INVALID, without echoing the URL', () => {
    const { logger } = captureLogger();
    const cases: Partial<WebhookNotifierOptions>[] = [
      { url: `not a url ${SECRET}` },
      { url: `ftp://example.com/${SECRET}` },
      { format: 'xml' as 'json' },
      { maxAttempts: 0 },
      { timeoutMs: 1.5 },
    ];
    for (const bad of cases) {
      assert.throws(
        () => new WebhookNotifier({ url: URL_WITH_SECRET, format: 'json', logger, ...bad }),
        (err: unknown) => isSluiceError(err) && err.code === 'ERR_CONFIG_INVALID' && !err.message.includes(SECRET),
      );
    }
  });
});

describe('slack format', () => {
  it('sends a Slack message with a summary and the approve command', async () => {
    const { notifier, net } = setup([200], { format: 'slack' });
    notifier.notify({ type: 'approval.requested', request: approvalRequest({ reason: 'please <!channel> & <https://evil|click>' }) });
    await notifier.idle();
    const body = JSON.parse(net.calls[0]!.init.body as string) as { text: string; blocks: { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: { text: string }[] }[] };
    assert.equal(typeof body.text, 'string');
    assert.match(body.text, /alice/);
    assert.match(body.text, /sluice approvals approve apr-1/);
    assert.deepEqual(body.blocks.map((b) => b.type), ['header', 'section', 'context']);
    assert.equal(body.blocks[0]!.text!.text, 'Approval requested');
    const fields = body.blocks[1]!.fields!.map((f) => f.text).join('\n');
    assert.match(fields, /\*Requester\*\nalice \(people\)/);
    assert.match(fields, /`POST \/admin\/refunds`/);
    // Requester-controlled text is escaped: no channel ping, no disguised link.
    assert.ok(!JSON.stringify(body).includes('<!channel>'));
    assert.ok(fields.includes('&lt;!channel&gt; &amp; &lt;https://evil|click&gt;'));
    assert.match(body.blocks[2]!.elements![0]!.text, /sluice approvals approve apr-1/);
  });

  it('describes a decision and who made it', async () => {
    const { notifier, net } = setup([200], { format: 'slack' });
    const request = approvalRequest({
      status: 'denied',
      votes: [{ approver: 'bob', groups: ['billing-leads'], approve: false, reason: 'not during the freeze', at: T0 + 1000 }],
      decidedAt: T0 + 1000,
      decisionReason: 'not during the freeze',
    });
    notifier.notify({ type: 'approval.decided', request });
    await notifier.idle();
    const body = JSON.parse(net.calls[0]!.init.body as string) as { text: string; blocks: { text?: { text: string }; fields?: { text: string }[] }[] };
    assert.equal(body.blocks[0]!.text!.text, 'Approval denied');
    assert.match(body.text, /denied.*by bob/);
    const fields = body.blocks[1]!.fields!.map((f) => f.text).join('\n');
    assert.match(fields, /\*Decided by\*\nbob/);
    assert.match(fields, /not during the freeze/);
  });
});

describe('MultiNotifier', () => {
  it('fans out to every notifier, even when one throws', () => {
    const { logger, lines } = captureLogger();
    const seen: string[] = [];
    const broken: ApprovalNotifier = { notify: () => { throw new Error('boom'); } };
    const multi = new MultiNotifier([{ notify: (e) => void seen.push(`1:${e.type}`) }, broken, { notify: (e) => void seen.push(`3:${e.type}`) }], logger);
    multi.notify(requested);
    assert.deepEqual(seen, ['1:approval.requested', '3:approval.requested']);
    assert.equal(lines.filter((l) => l.level === 50).length, 1);
  });
});
