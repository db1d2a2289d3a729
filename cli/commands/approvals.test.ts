import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { closeServer, listen, readBody, sendJson } from '../../common/http.ts';
import { approvalView } from '../../ext-authz/approvals/approval-view.ts';
import { approvalRequest, T0 } from '../../ext-authz/approvals/approval-fixtures.ts';
import { runApprovalsList, runApprovalsVote, type CliIo } from './approvals.ts';

const TOKEN = 'eyJ.approver-SECRET.sig';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('sluice approvals', () => {
  let server: Server;
  let base: string;
  const seen: Seen[] = [];
  let reply: { status: number; body: unknown } = { status: 200, body: {} };

  before(async () => {
    server = createServer(async (req, res) => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: (await readBody(req)).toString() });
      if (typeof reply.body === 'string') res.writeHead(reply.status, { 'content-type': 'text/html' }).end(reply.body);
      else sendJson(res, reply.status, reply.body);
    });
    base = `http://127.0.0.1:${await listen(server, 0)}`;
  });
  after(() => closeServer(server));
  beforeEach(() => {
    seen.length = 0;
  });

  function io(env: Record<string, string> = { SLUICE_ADMIN_URL: base, SLUICE_TOKEN: TOKEN }) {
    const out: string[] = [];
    const err: string[] = [];
    const value: CliIo = { out: (t) => void out.push(t), err: (t) => void err.push(t), env, fetch: globalThis.fetch, now: () => T0 + 60_000 };
    return { value, out: () => out.join(''), err: () => err.join('') };
  }

  it('list prints a table of what the API returns', async () => {
    reply = {
      status: 200,
      body: {
        approvals: [
          approvalView(approvalRequest({ reason: 'line1\n\u001b[31mred\u001b[0m' })),
          approvalView(approvalRequest({ id: 'apr-2', subject: 'carol', spec: { ...approvalRequest().spec, quorum: { min: 2 } }, callerLeftAt: T0 + 30_000 })),
        ],
      },
    };
    const cli = io();
    assert.equal(await runApprovalsList(['--subject', 'alice', '--target', 'billing'], cli.value), 0);
    assert.equal(seen[0]!.method, 'GET');
    assert.equal(seen[0]!.url, '/approvals?status=pending&subject=alice&target=billing');
    assert.equal(seen[0]!.headers.authorization, `Bearer ${TOKEN}`);
    const lines = cli.out().trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^ID\s+STATUS\s+REQUESTER\s+TARGET\s+REQUEST\s+RULE\s+VOTES\s+WHEN\s+CALLER\s+REASON$/);
    assert.match(lines[1]!, /^apr-1\s+pending\s+alice \(people\)\s+billing\s+POST \/admin\/refunds\s+billing\/refunds\s+0\/1\s+expires in 9m00s\s+-\s+line1/);
    assert.match(lines[2]!, /0\/2\s+expires in \S+\s+left 30s ago\s/, 'approvers see that the caller gave up');
    assert.ok(!cli.out().includes('\u001b'), 'control characters from the requester are stripped');
    assert.ok(!cli.out().includes(TOKEN) && !cli.err().includes(TOKEN));
  });

  it('list --json prints the body; an empty list says so', async () => {
    reply = { status: 200, body: { approvals: [] } };
    const json = io();
    assert.equal(await runApprovalsList(['--json', '--status', 'all'], json.value), 0);
    assert.deepEqual(JSON.parse(json.out()), { approvals: [] });
    assert.equal(seen[0]!.url, '/approvals?status=all');
    const text = io();
    assert.equal(await runApprovalsList([], text.value), 0);
    assert.equal(text.out(), 'no pending approvals you can see\n');
  });

  it('approve posts the reason and prints one line', async () => {
    reply = { status: 200, body: { approval: approvalView(approvalRequest({ status: 'approved' })) } };
    const cli = io({ SLUICE_TOKEN: TOKEN });
    assert.equal(await runApprovalsVote([`apr-1`, '--reason', 'ok for INC-42', '--url', `${base}/`], true, cli.value), 0);
    assert.equal(seen[0]!.method, 'POST');
    assert.equal(seen[0]!.url, '/approvals/apr-1/approve');
    assert.deepEqual(JSON.parse(seen[0]!.body), { reason: 'ok for INC-42' });
    assert.equal(cli.out(), 'apr-1: vote recorded (approve); status: approved\n');
  });

  it('deny needs --reason, checked before any call', async () => {
    const cli = io();
    assert.equal(await runApprovalsVote(['apr-1'], false, cli.value), 2);
    assert.match(cli.err(), /--reason is required/);
    assert.equal(seen.length, 0);
  });

  it('deny sends the reason and shows the new status', async () => {
    reply = { status: 200, body: { approval: approvalView(approvalRequest({ status: 'denied' })) } };
    const cli = io();
    assert.equal(await runApprovalsVote(['apr-1', '--reason', 'freeze', '--token', 'other'], false, cli.value), 0);
    assert.equal(seen[0]!.url, '/approvals/apr-1/deny');
    assert.equal(seen[0]!.headers.authorization, 'Bearer other', '--token wins over SLUICE_TOKEN');
    assert.equal(cli.out(), 'apr-1: vote recorded (deny); status: denied\n');
  });

  it('an error response prints "sluice: <code>: <message>" and exits 1', async () => {
    reply = { status: 403, body: { error: { code: 'ERR_APPROVAL_SELF', message: 'a requester cannot vote on their own request' } } };
    const cli = io();
    assert.equal(await runApprovalsVote(['apr-1'], true, cli.value), 1);
    assert.equal(cli.err(), 'sluice: ERR_APPROVAL_SELF: a requester cannot vote on their own request\n');
    assert.equal(cli.out(), '');
  });

  it('a non-JSON error and an unreachable API are reported without the token', async () => {
    reply = { status: 502, body: '<html>bad gateway</html>' };
    const bad = io();
    assert.equal(await runApprovalsList([], bad.value), 1);
    assert.match(bad.err(), /^sluice: HTTP 502 from http:\/\/127\.0\.0\.1:\d+\n$/);
    const down = io({ SLUICE_ADMIN_URL: 'http://127.0.0.1:1', SLUICE_TOKEN: TOKEN });
    assert.equal(await runApprovalsList([], down.value), 1);
    assert.match(down.err(), /^sluice: cannot reach the approvals API at http:\/\/127\.0\.0\.1:1: /);
    assert.ok(!down.err().includes(TOKEN));
  });

  it('usage mistakes exit 2: no token, no id, unknown flag', async () => {
    const noToken = io({ SLUICE_ADMIN_URL: base });
    assert.equal(await runApprovalsList([], noToken.value), 2);
    assert.match(noToken.err(), /SLUICE_TOKEN/);
    const noId = io();
    assert.equal(await runApprovalsVote([], true, noId.value), 2);
    assert.match(noId.err(), /usage: sluice approvals approve <id>/);
    const unknown = io();
    assert.equal(await runApprovalsList(['--colour'], unknown.value), 2);
    assert.match(unknown.err(), /^sluice: Unknown option '--colour'/);
    assert.equal(seen.length, 0);
  });
});
