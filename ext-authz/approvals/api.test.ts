import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { AuthError } from '../identity/errors.ts';
import type { Identity, IdentityVerifier } from '../identity/types.ts';
import { startAdminServer, type AdminServer } from '../../common/admin-server.ts';
import { registerApprovalsApi } from './api.ts';
import { approvalRequest, T0 } from './approval-fixtures.ts';
import { ApprovalError } from './errors.ts';
import type { ApprovalEvent } from './notifier.ts';
import type { ApprovalFilter, ApprovalGrant, ApprovalRequest, ApprovalStore, Approver } from './types.ts';

const NOW = T0 + 60_000;

/** Just enough of an ApprovalStore for the API: the vote checks in the order the contract lists. */
class FakeStore implements ApprovalStore {
  records = new Map<string, ApprovalRequest>();
  unavailable = false;
  crash = false;

  reset(requests: ApprovalRequest[]): void {
    this.records = new Map(requests.map((r) => [r.id, r]));
    this.unavailable = false;
    this.crash = false;
  }

  private check(): void {
    if (this.unavailable) throw new ApprovalError('ERR_APPROVAL_STORE_UNAVAILABLE', 'redis at 10.0.0.7:6379 refused the connection');
    if (this.crash) throw new TypeError('cannot read properties of undefined (reading "votes") at secret-internal.ts:12');
  }

  async create(request: ApprovalRequest): Promise<void> {
    this.check();
    this.records.set(request.id, request);
  }
  async get(id: string): Promise<ApprovalRequest | undefined> {
    this.check();
    return this.records.get(id);
  }
  async markCallerLeft(): Promise<ApprovalRequest | undefined> {
    throw new Error('not used by the API');
  }
  async list(filter: ApprovalFilter): Promise<ApprovalRequest[]> {
    this.check();
    return [...this.records.values()]
      .filter((r) => (filter.status === undefined || r.status === filter.status) && (filter.subject === undefined || r.subject === filter.subject) && (filter.target === undefined || r.target === filter.target))
      .slice(0, filter.limit);
  }
  async findPending(): Promise<ApprovalRequest | undefined> {
    return undefined;
  }
  async vote(id: string, approver: Approver, approve: boolean, reason: string, now: number): Promise<ApprovalRequest> {
    this.check();
    const r = this.records.get(id);
    if (!r) throw new ApprovalError('ERR_APPROVAL_NOT_FOUND', `no approval ${id}`);
    if (r.status === 'pending' && now >= r.expiresAt) throw new ApprovalError('ERR_APPROVAL_EXPIRED', 'the approval request has expired');
    if (r.status !== 'pending') throw new ApprovalError('ERR_APPROVAL_ALREADY_DECIDED', `already ${r.status}`);
    if (approver.issuer === r.issuer && approver.subject === r.subject) throw new ApprovalError('ERR_APPROVAL_SELF', 'a requester cannot vote on their own request');
    if (!approver.groups.some((g) => r.spec.approverGroups.includes(g))) throw new ApprovalError('ERR_APPROVAL_NOT_APPROVER', 'not an approver');
    if (r.votes.some((v) => v.approver === approver.subject)) throw new ApprovalError('ERR_APPROVAL_DUPLICATE_VOTE', 'already voted');
    const votes = [...r.votes, { approver: approver.subject, issuer: approver.issuer, groups: approver.groups, approve, reason, at: now }];
    const min = typeof r.spec.quorum === 'object' ? r.spec.quorum.min : 1;
    const decided = !approve || votes.filter((v) => v.approve).length >= min;
    const updated: ApprovalRequest = decided
      ? { ...r, votes, status: approve ? 'approved' : 'denied', decidedAt: now, decisionReason: reason }
      : { ...r, votes };
    this.records.set(id, updated);
    return updated;
  }
  async takeGrant(): Promise<ApprovalGrant | undefined> {
    return undefined;
  }
  async waitForDecision(): Promise<ApprovalRequest | undefined> {
    return undefined;
  }
  async cleanup(): Promise<number> {
    return 0;
  }
  async close(): Promise<void> {}
}

function identity(subject: string, groups: string[], issuerName = 'people'): Identity {
  return { issuerName, issuer: `https://${issuerName}.example.com`, subject, groups, claims: {}, expiresAt: NOW / 1000 + 3600 };
}

/** Tokens look like JWTs so a leak would be obvious; each maps to one identity. */
const TOKENS: Record<string, Identity> = {
  'eyJ.bob-SECRET-token.sig1': identity('bob', ['billing-leads']),
  'eyJ.sam-SECRET-token.sig2': identity('sam', ['sre']),
  'eyJ.alice-SECRET-token.sig3': identity('alice', ['engineering']),
  'eyJ.mallory-SECRET-token.sig4': identity('mallory', ['marketing']),
  'eyJ.pat-SECRET-token.sig5': identity('pat', ['billing-leads', 'sre']),
};
const [BOB, SAM, ALICE, MALLORY, PAT] = Object.keys(TOKENS) as [string, string, string, string, string];
const JWKS_DOWN = 'eyJ.jwks-down-SECRET.sig';

const verifier: IdentityVerifier = {
  async verify(token) {
    if (token === JWKS_DOWN) throw new AuthError('ERR_JWKS_UNAVAILABLE', 'JWKS fetch failed', { details: { issuer: 'people' } });
    const found = TOKENS[token];
    if (!found) throw new AuthError('ERR_TOKEN_SIGNATURE_INVALID', 'the token signature does not verify');
    return found;
  },
};

function seed(): ApprovalRequest[] {
  return [
    approvalRequest({ id: 'apr-1' }),
    approvalRequest({ id: 'apr-2', subject: 'carol', target: 'ops', rule: 'ops/restart', spec: { ...approvalRequest().spec, approverGroups: ['sre'] } }),
    approvalRequest({ id: 'apr-3', subject: 'dave', expiresAt: NOW - 1 }),
    approvalRequest({ id: 'apr-4', subject: 'erin', status: 'approved', decidedAt: T0 + 5, decisionReason: 'ok' }),
    approvalRequest({ id: 'apr-5', subject: 'frank', spec: { ...approvalRequest().spec, approverGroups: ['billing-leads', 'sre'], quorum: { min: 2 } } }),
  ];
}

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function capture(lines: LogLine[]) {
  return pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
}

describe('approvals API', () => {
  const store = new FakeStore();
  const logLines: LogLine[] = [];
  const auditLines: LogLine[] = [];
  const events: ApprovalEvent[] = [];
  let api: AdminServer;
  let base: string;

  before(async () => {
    // The approvals API as ext-authz runs it: one component on the service's shared admin server.
    api = await startAdminServer({ host: '127.0.0.1', port: 0, logger: capture(logLines) });
    registerApprovalsApi(api, {
      store,
      verifier,
      auditLog: capture(auditLines),
      notifier: { notify: (e) => void events.push(e) },
      now: () => NOW,
    });
    base = `http://127.0.0.1:${api.port}`;
  });
  after(() => api.close());
  beforeEach(() => {
    store.reset(seed());
    logLines.length = 0;
    auditLines.length = 0;
    events.length = 0;
  });

  async function call(method: string, path: string, token?: string, body?: unknown) {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as any) : undefined };
  }

  async function expectError(promise: ReturnType<typeof call>, status: number, code: string) {
    const res = await promise;
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.error.code, code);
    assert.equal(typeof res.body.error.message, 'string');
    return res;
  }

  function assertNoTokenInLogs(): void {
    const all = JSON.stringify([...logLines, ...auditLines]);
    assert.ok(!all.includes('SECRET'), `a token reached the logs: ${all.slice(0, 300)}`);
  }

  describe('routing', () => {
    it('GET /healthz (the admin server\'s own) needs no token', async () => {
      const res = await call('GET', '/healthz');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { status: 'ok' });
    });

    it('unknown routes are 404, wrong methods 405 with Allow', async () => {
      await expectError(call('GET', '/nope', BOB), 404, 'ERR_ROUTE_NOT_FOUND');
      await expectError(call('GET', '/approvals/apr-1/approve/x', BOB), 404, 'ERR_ROUTE_NOT_FOUND');
      const res = await expectError(call('GET', '/approvals/apr-1/approve', BOB), 405, 'ERR_METHOD_NOT_ALLOWED');
      assert.equal(res.headers.get('allow'), 'POST');
      assert.equal((await expectError(call('DELETE', '/approvals/apr-1', BOB), 405, 'ERR_METHOD_NOT_ALLOWED')).headers.get('allow'), 'GET');
      await expectError(call('POST', '/approvals', BOB, {}), 405, 'ERR_METHOD_NOT_ALLOWED');
    });
  });

  describe('authentication', () => {
    for (const [method, path] of [['GET', '/approvals'], ['GET', '/approvals/apr-1'], ['POST', '/approvals/apr-1/approve']] as const) {
      it(`${method} ${path}: no token → 401 ERR_TOKEN_MISSING`, async () => {
        const res = await expectError(call(method, path), 401, 'ERR_TOKEN_MISSING');
        assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="sluice"');
        assert.equal(store.records.get('apr-1')!.votes.length, 0);
      });

      it(`${method} ${path}: bad token → 401 with the AuthError code`, async () => {
        const res = await expectError(call(method, path, 'eyJ.forged-SECRET.sig'), 401, 'ERR_TOKEN_SIGNATURE_INVALID');
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="sluice", error="invalid_token"/);
        assertNoTokenInLogs();
      });
    }

    it('another scheme is refused as malformed', async () => {
      const res = await fetch(`${base}/approvals`, { headers: { authorization: 'Basic YWxpY2U6cGFzcw==' } });
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as any).error.code, 'ERR_TOKEN_MALFORMED');
    });

    it('an unreachable identity provider is 503, not 401', async () => {
      const res = await expectError(call('GET', '/approvals', JWKS_DOWN), 503, 'ERR_JWKS_UNAVAILABLE');
      assert.equal(res.headers.get('www-authenticate'), null);
    });
  });

  describe('reading', () => {
    const ids = (res: Awaited<ReturnType<typeof call>>) => (res.body.approvals as { id: string }[]).map((a) => a.id);

    it('lists pending requests the caller could approve, or made', async () => {
      assert.deepEqual(ids(await call('GET', '/approvals', BOB)), ['apr-1', 'apr-3', 'apr-5']);
      assert.deepEqual(ids(await call('GET', '/approvals', SAM)), ['apr-2', 'apr-5']);
      assert.deepEqual(ids(await call('GET', '/approvals', ALICE)), ['apr-1']);
      assert.deepEqual(ids(await call('GET', '/approvals', MALLORY)), []);
    });

    it('filters by status, subject and target, and applies limit after visibility', async () => {
      assert.deepEqual(ids(await call('GET', '/approvals?status=approved', BOB)), ['apr-4']);
      assert.deepEqual(ids(await call('GET', '/approvals?status=all', BOB)), ['apr-1', 'apr-3', 'apr-4', 'apr-5']);
      assert.deepEqual(ids(await call('GET', '/approvals?subject=dave', BOB)), ['apr-3']);
      assert.deepEqual(ids(await call('GET', '/approvals?target=ops', BOB)), []);
      assert.deepEqual(ids(await call('GET', '/approvals?limit=1', SAM)), ['apr-2']);
      await expectError(call('GET', '/approvals?status=bogus', BOB), 400, 'ERR_APPROVAL_INVALID');
      await expectError(call('GET', '/approvals?limit=0', BOB), 400, 'ERR_APPROVAL_INVALID');
      await expectError(call('GET', '/approvals?limit=ten', BOB), 400, 'ERR_APPROVAL_INVALID');
    });

    it('GET /approvals/:id returns the snake_case view', async () => {
      const res = await call('GET', '/approvals/apr-5', PAT);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.deepEqual(res.body.approval, {
        id: 'apr-5',
        status: 'pending',
        subject: 'frank',
        issuer: 'people',
        target: 'billing',
        method: 'POST',
        path: '/admin/refunds',
        rule: 'billing/refunds',
        reason: 'INC-42 customer refund',
        approver_groups: ['billing-leads', 'sre'],
        quorum: { min: 2 },
        votes: [],
        created_at: '2030-01-01T00:00:00.000Z',
        expires_at: '2030-01-01T00:10:00.000Z',
        decided_at: null,
        decision_reason: null,
        caller_left_at: null,
        database: null,
      });
    });

    it('an approval the caller may not see is indistinguishable from a missing one', async () => {
      const hidden = await expectError(call('GET', '/approvals/apr-1', MALLORY), 404, 'ERR_APPROVAL_NOT_FOUND');
      const missing = await expectError(call('GET', '/approvals/apr-404', MALLORY), 404, 'ERR_APPROVAL_NOT_FOUND');
      assert.equal(hidden.body.error.message.replace('apr-1', 'X'), missing.body.error.message.replace('apr-404', 'X'));
      assert.equal((await call('GET', '/approvals/apr-1', ALICE)).status, 200);
    });
  });

  describe('voting', () => {
    it('approve records the vote, answers with the view, audits and notifies', async () => {
      const res = await call('POST', '/approvals/apr-1/approve', BOB, { reason: '  refund approved  ' });
      assert.equal(res.status, 200);
      assert.equal(res.body.approval.status, 'approved');
      assert.deepEqual(res.body.approval.votes, [{ approver: 'bob', issuer: 'people', approve: true, reason: 'refund approved', at: new Date(NOW).toISOString() }]);
      assert.equal(res.body.approval.decided_at, new Date(NOW).toISOString());
      assert.equal(auditLines.length, 1);
      assert.deepEqual(
        { ...auditLines[0], time: undefined, pid: undefined, hostname: undefined, source_address: undefined },
        {
          level: 30,
          msg: 'approval vote',
          event: 'approval.vote',
          approval_id: 'apr-1',
          decision: 'approve',
          approver_issuer: 'people',
          approver_subject: 'bob',
          reason: 'refund approved',
          result: 'ok',
          http_status: 200,
          approval_status: 'approved',
          time: undefined,
          pid: undefined,
          hostname: undefined,
          source_address: undefined,
        },
      );
      assert.deepEqual(events.map((e) => [e.type, e.request.id, e.request.status]), [['approval.decided', 'apr-1', 'approved']]);
      assertNoTokenInLogs();
    });

    it('approve needs no body at all', async () => {
      const res = await fetch(`${base}/approvals/apr-1/approve`, { method: 'POST', headers: { authorization: `Bearer ${BOB}` } });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as any).approval.votes[0].reason, '');
    });

    it('a vote that does not complete the quorum stays pending and notifies nobody', async () => {
      const res = await call('POST', '/approvals/apr-5/approve', BOB, {});
      assert.equal(res.body.approval.status, 'pending');
      assert.deepEqual(events, []);
      const dup = await expectError(call('POST', '/approvals/apr-5/approve', BOB, {}), 409, 'ERR_APPROVAL_DUPLICATE_VOTE');
      assert.equal(dup.body.error.message, 'already voted');
      assert.equal((await call('POST', '/approvals/apr-5/approve', SAM, {})).body.approval.status, 'approved');
    });

    it('deny without a reason is 400 and the store is not asked', async () => {
      await expectError(call('POST', '/approvals/apr-1/deny', BOB, {}), 400, 'ERR_APPROVAL_INVALID');
      await expectError(call('POST', '/approvals/apr-1/deny', BOB, { reason: '   ' }), 400, 'ERR_APPROVAL_INVALID');
      await expectError(call('POST', '/approvals/apr-1/deny', BOB), 400, 'ERR_APPROVAL_INVALID');
      assert.equal(store.records.get('apr-1')!.votes.length, 0);
      assert.deepEqual(auditLines.map((l) => [l.decision, l.result, l.http_status]), [
        ['deny', 'ERR_APPROVAL_INVALID', 400],
        ['deny', 'ERR_APPROVAL_INVALID', 400],
        ['deny', 'ERR_APPROVAL_INVALID', 400],
      ]);
    });

    it('deny with a reason decides the request', async () => {
      const res = await call('POST', '/approvals/apr-1/deny', BOB, { reason: 'not during the freeze' });
      assert.equal(res.status, 200);
      assert.equal(res.body.approval.status, 'denied');
      assert.equal(res.body.approval.decision_reason, 'not during the freeze');
      assert.equal(auditLines[0]!.decision, 'deny');
      assert.equal(auditLines[0]!.reason, 'not during the freeze');
      assert.equal(events[0]!.request.status, 'denied');
    });

    const refusals: [string, string, string, number, string][] = [
      ['self-approval', 'apr-1', ALICE, 403, 'ERR_APPROVAL_SELF'],
      ['not an approver', 'apr-1', MALLORY, 403, 'ERR_APPROVAL_NOT_APPROVER'],
      ['expired', 'apr-3', BOB, 410, 'ERR_APPROVAL_EXPIRED'],
      ['already decided', 'apr-4', BOB, 409, 'ERR_APPROVAL_ALREADY_DECIDED'],
      ['unknown id', 'apr-404', BOB, 404, 'ERR_APPROVAL_NOT_FOUND'],
    ];
    for (const [name, id, token, status, code] of refusals) {
      it(`${name} → ${status} ${code}, audited`, async () => {
        await expectError(call('POST', `/approvals/${id}/approve`, token, { reason: 'pls' }), status, code);
        assert.equal(auditLines.length, 1);
        assert.equal(auditLines[0]!.approval_id, id);
        assert.equal(auditLines[0]!.result, code);
        assert.equal(auditLines[0]!.http_status, status);
        assert.equal(auditLines[0]!.approver_subject, TOKENS[token]!.subject);
        assert.deepEqual(events, []);
        assertNoTokenInLogs();
      });
    }

    it('an unauthenticated vote is audited without an approver', async () => {
      await expectError(call('POST', '/approvals/apr-1/approve', 'eyJ.forged-SECRET.sig', {}), 401, 'ERR_TOKEN_SIGNATURE_INVALID');
      assert.equal(auditLines.length, 1);
      assert.equal(auditLines[0]!.approver_subject, null);
      assert.equal(auditLines[0]!.result, 'ERR_TOKEN_SIGNATURE_INVALID');
      assertNoTokenInLogs();
    });

    it('bodies are capped (413) and must be JSON objects (400)', async () => {
      await expectError(call('POST', '/approvals/apr-1/approve', BOB, { reason: 'x'.repeat(17 * 1024) }), 413, 'ERR_BODY_TOO_LARGE');
      await expectError(call('POST', '/approvals/apr-1/approve', BOB, 'not json'), 400, 'ERR_APPROVAL_INVALID');
      await expectError(call('POST', '/approvals/apr-1/approve', BOB, '["reason"]'), 400, 'ERR_APPROVAL_INVALID');
      await expectError(call('POST', '/approvals/apr-1/approve', BOB, { reason: 42 }), 400, 'ERR_APPROVAL_INVALID');
      assert.deepEqual(auditLines.map((l) => l.result), ['ERR_BODY_TOO_LARGE', 'ERR_APPROVAL_INVALID', 'ERR_APPROVAL_INVALID', 'ERR_APPROVAL_INVALID']);
      assert.equal(store.records.get('apr-1')!.votes.length, 0);
    });
  });

  describe('failures', () => {
    it('store unavailable → 503 with a generic message; the detail is logged', async () => {
      store.unavailable = true;
      const list = await expectError(call('GET', '/approvals', BOB), 503, 'ERR_APPROVAL_STORE_UNAVAILABLE');
      assert.ok(!list.body.error.message.includes('10.0.0.7'));
      await expectError(call('GET', '/approvals/apr-1', BOB), 503, 'ERR_APPROVAL_STORE_UNAVAILABLE');
      await expectError(call('POST', '/approvals/apr-1/approve', BOB, {}), 503, 'ERR_APPROVAL_STORE_UNAVAILABLE');
      assert.equal(auditLines.length, 1);
      assert.equal(auditLines[0]!.result, 'ERR_APPROVAL_STORE_UNAVAILABLE');
      assert.ok(logLines.some((l) => l.level === 50 && JSON.stringify(l).includes('10.0.0.7')));
    });

    it('an unexpected error is 500 ERR_INTERNAL, details only in the log', async () => {
      store.crash = true;
      const res = await expectError(call('POST', '/approvals/apr-1/approve', BOB, {}), 500, 'ERR_INTERNAL');
      assert.ok(!JSON.stringify(res.body).includes('secret-internal'));
      assert.ok(logLines.some((l) => JSON.stringify(l).includes('secret-internal')));
      assert.equal(auditLines[0]!.result, 'ERR_INTERNAL');
      assertNoTokenInLogs();
    });
  });
});
