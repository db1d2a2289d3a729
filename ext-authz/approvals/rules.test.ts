import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyVote, checkNewRequest, effectiveStatus, grantFor, retainUntil, withEffectiveStatus } from './rules.ts';
import { alice, bob, carol, dave, pending, spec } from './store-suite.ts';
import type { ApprovalRequest, Approver } from './types.ts';

/** A fixed clock: the rules take `now` as an argument, so no test here depends on real time. */
const T0 = 1_700_000_000_000;
const erin: Approver = { issuer: 'corp', subject: 'erin', groups: ['sre'] };

function request(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return pending(T0, { id: 'req-1', ...overrides });
}

describe('applyVote', () => {
  test('never mutates: the input request is unchanged and a new object comes back', () => {
    const before = request();
    const frozen = Object.freeze({ ...before, votes: Object.freeze([...before.votes]) });
    const after = applyVote(frozen, bob, true, 'ok', T0 + 5);
    assert.notEqual(after, frozen);
    assert.equal(frozen.status, 'pending');
    assert.equal(frozen.votes.length, 0);
  });

  test("quorum 'any' approves on the first approval, with the completing vote's reason", () => {
    const after = applyVote(request(), bob, true, '  checked the runbook  ', T0 + 5);
    assert.equal(after.status, 'approved');
    assert.equal(after.decidedAt, T0 + 5);
    assert.equal(after.decisionReason, 'checked the runbook');
    assert.deepEqual(after.votes, [{ approver: 'bob', issuer: 'corp', groups: ['sre'], approve: true, reason: 'checked the runbook', at: T0 + 5 }]);
  });

  test('{ min: n } needs n distinct approvers', () => {
    let r = request({ spec: spec({ quorum: { min: 3 } }) });
    r = applyVote(r, bob, true, 'one', T0 + 1);
    assert.equal(r.status, 'pending');
    assert.equal(r.decidedAt, null);
    r = applyVote(r, carol, true, 'two', T0 + 2);
    assert.equal(r.status, 'pending');
    assert.throws(() => applyVote(r, carol, true, 'two again', T0 + 3), { code: 'ERR_APPROVAL_DUPLICATE_VOTE' });
    r = applyVote(r, erin, true, 'three', T0 + 4);
    assert.equal(r.status, 'approved');
    assert.equal(r.decidedAt, T0 + 4);
    assert.equal(r.decisionReason, 'three');
  });

  test('the same subject from another issuer is a different approver', () => {
    let r = request({ spec: spec({ quorum: { min: 2 } }) });
    r = applyVote(r, bob, true, 'corp bob', T0 + 1);
    r = applyVote(r, { ...bob, issuer: 'partner' }, true, 'partner bob', T0 + 2);
    assert.equal(r.status, 'approved');
  });

  test('a vote recorded without an issuer still blocks that subject (refusing is the safe mistake)', () => {
    const legacy = request({ spec: spec({ quorum: { min: 2 } }), votes: [{ approver: 'bob', groups: ['sre'], approve: true, reason: 'ok', at: T0 }] });
    assert.throws(() => applyVote(legacy, { ...bob, issuer: 'partner' }, true, 'ok', T0 + 1), { code: 'ERR_APPROVAL_DUPLICATE_VOTE' });
  });

  test("'every-group' needs an approving member of every group; more from one group is not enough", () => {
    let r = request({ spec: spec({ approverGroups: ['sre', 'dba'], quorum: 'every-group' }) });
    r = applyVote(r, bob, true, 'sre', T0 + 1);
    r = applyVote(r, carol, true, 'sre again', T0 + 2);
    assert.equal(r.status, 'pending');
    r = applyVote(r, dave, true, 'dba', T0 + 3);
    assert.equal(r.status, 'approved');
  });

  test("'every-group' can be met by one person who is in every group", () => {
    const both: Approver = { issuer: 'corp', subject: 'frank', groups: ['dba', 'sre'] };
    const r = applyVote(request({ spec: spec({ approverGroups: ['sre', 'dba'], quorum: 'every-group' }) }), both, true, 'both hats', T0 + 1);
    assert.equal(r.status, 'approved');
    assert.deepEqual(r.votes[0]?.groups, ['dba', 'sre']);
  });

  test('only the groups the request names are recorded on the vote', () => {
    const r = applyVote(request(), bob, true, 'ok', T0 + 1);
    assert.deepEqual(r.votes[0]?.groups, ['sre']); // bob is also in 'staff'
  });

  test('a requester cannot approve or deny their own request, whatever their groups', () => {
    const self = { ...alice, groups: ['sre'] };
    assert.throws(() => applyVote(request(), self, true, 'me', T0 + 1), { code: 'ERR_APPROVAL_SELF' });
    assert.throws(() => applyVote(request(), self, false, 'me', T0 + 1), { code: 'ERR_APPROVAL_SELF' });
  });

  test('a voter in none of the approver groups is refused', () => {
    assert.throws(() => applyVote(request(), dave, true, 'ok', T0 + 1), { code: 'ERR_APPROVAL_NOT_APPROVER' });
    assert.throws(() => applyVote(request(), { ...bob, groups: [] }, true, 'ok', T0 + 1), { code: 'ERR_APPROVAL_NOT_APPROVER' });
  });

  test('one eligible denial decides, whatever the quorum, and needs a reason', () => {
    let r = request({ spec: spec({ quorum: { min: 2 } }) });
    r = applyVote(r, bob, true, 'ok', T0 + 1);
    assert.throws(() => applyVote(r, carol, false, ' \n ', T0 + 2), { code: 'ERR_APPROVAL_INVALID' });
    r = applyVote(r, carol, false, 'change freeze', T0 + 2);
    assert.equal(r.status, 'denied');
    assert.equal(r.decidedAt, T0 + 2);
    assert.equal(r.decisionReason, 'change freeze');
    assert.throws(() => applyVote(r, erin, true, 'ok', T0 + 3), { code: 'ERR_APPROVAL_ALREADY_DECIDED' });
  });

  test('an approval may have an empty reason; long reasons are capped', () => {
    assert.equal(applyVote(request(), bob, true, '', T0 + 1).decisionReason, '');
    assert.equal(applyVote(request(), bob, true, 'x'.repeat(2000), T0 + 1).decisionReason?.length, 500);
  });

  test('expiry: from expiresAt on (inclusive) no vote counts', () => {
    const r = request();
    assert.equal(applyVote(r, bob, true, 'just in time', r.expiresAt - 1).status, 'approved');
    assert.throws(() => applyVote(r, bob, true, 'late', r.expiresAt), (err: { code: string; details: { status: string } }) => {
      assert.equal(err.code, 'ERR_APPROVAL_EXPIRED');
      assert.equal(err.details.status, 'expired');
      return true;
    });
    assert.throws(() => applyVote({ ...r, status: 'expired' }, bob, true, 'late', T0), { code: 'ERR_APPROVAL_EXPIRED' });
  });

  test('checks run in order: expired before self, self before not-approver, not-approver before duplicate', () => {
    const r = request();
    assert.throws(() => applyVote(r, alice, true, 'x', r.expiresAt), { code: 'ERR_APPROVAL_EXPIRED' });
    assert.throws(() => applyVote(r, alice, true, 'x', T0), { code: 'ERR_APPROVAL_SELF' });
    const voted = applyVote(request({ spec: spec({ quorum: { min: 2 } }) }), bob, true, 'ok', T0);
    assert.throws(() => applyVote(voted, { ...bob, groups: ['dba'] }, true, 'x', T0), { code: 'ERR_APPROVAL_NOT_APPROVER' });
    // A non-approver's empty denial is "not an approver", not "invalid": they learn nothing about the rules.
    assert.throws(() => applyVote(r, dave, false, '', T0), { code: 'ERR_APPROVAL_NOT_APPROVER' });
  });
});

describe('effectiveStatus', () => {
  test('pending reads as expired from expiresAt on; decided statuses never change', () => {
    const r = request();
    assert.equal(effectiveStatus(r, r.expiresAt - 1), 'pending');
    assert.equal(effectiveStatus(r, r.expiresAt), 'expired');
    const approved = applyVote(r, bob, true, 'ok', T0 + 1);
    assert.equal(effectiveStatus(approved, r.expiresAt + 1), 'approved');
    const expired = withEffectiveStatus(r, r.expiresAt);
    assert.equal(expired.status, 'expired');
    assert.equal(expired.decidedAt, r.expiresAt);
    assert.equal(withEffectiveStatus(r, T0), r);
  });
});

describe('grantFor and retainUntil', () => {
  test('request scope: single-use, bound to method and path, ends when the request expires', () => {
    const approved = applyVote(request(), bob, true, 'ok', T0 + 10);
    assert.deepEqual(grantFor(approved), {
      approvalId: 'req-1', issuer: 'corp', subject: 'alice', target: 'orders-db', rule: 'prod/approve-writes',
      scope: 'request', method: 'POST', path: '/admin/reindex', expiresAt: approved.expiresAt,
    });
    assert.equal(retainUntil(approved), approved.expiresAt);
  });

  test('window scope: runs windowMs from the decision, and the record is kept as long', () => {
    const approved = applyVote(request({ spec: spec({ grant: { scope: 'window', windowMs: 3_600_000 } }) }), bob, true, 'ok', T0 + 10);
    const grant = grantFor(approved);
    assert.equal(grant.scope, 'window');
    assert.equal(grant.expiresAt, T0 + 10 + 3_600_000);
    assert.equal(retainUntil(approved), T0 + 10 + 3_600_000);
    // A window shorter than the pending TTL still keeps the record until it could no longer be decided.
    const short = applyVote(request({ spec: spec({ grant: { scope: 'window', windowMs: 1000 } }) }), bob, true, 'ok', T0 + 10);
    assert.equal(grantFor(short).expiresAt, T0 + 1010);
    assert.equal(retainUntil(short), short.expiresAt);
  });

  test('only an approved request has a grant', () => {
    assert.throws(() => grantFor(request()), { code: 'ERR_APPROVAL_INVALID' });
    assert.throws(() => grantFor(applyVote(request(), bob, false, 'no', T0 + 1)), { code: 'ERR_APPROVAL_INVALID' });
  });
});

describe('checkNewRequest', () => {
  test('accepts a well-formed pending request and reports every problem of a bad one at once', () => {
    checkNewRequest(request());
    assert.throws(
      () => checkNewRequest(request({ status: 'approved', expiresAt: T0, spec: spec({ approverGroups: [], quorum: { min: 1.5 } }) })),
      (err: { code: string; details: { problems: string[] } }) => {
        assert.equal(err.code, 'ERR_APPROVAL_INVALID');
        assert.equal(err.details.problems.length, 4);
        return true;
      },
    );
  });
});
