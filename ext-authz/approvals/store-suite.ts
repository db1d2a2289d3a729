import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { TestClock } from './test-clock.ts';
import type { ApprovalRequest, ApprovalSpec, ApprovalStore, Approver } from './types.ts';

/** What a store implementation hands the shared suite: a fresh, empty store and its clock. */
export interface StoreHarness {
  store: ApprovalStore;
  clock: TestClock;
  close: () => Promise<void>;
}

const MINUTE = 60_000;

export const alice: Approver = { issuer: 'corp', subject: 'alice', groups: ['dev'] };
export const bob: Approver = { issuer: 'corp', subject: 'bob', groups: ['sre', 'staff'] };
export const carol: Approver = { issuer: 'corp', subject: 'carol', groups: ['sre'] };
export const dave: Approver = { issuer: 'corp', subject: 'dave', groups: ['dba'] };

export function spec(overrides: Partial<ApprovalSpec> = {}): ApprovalSpec {
  return { approverGroups: ['sre'], quorum: 'any', grant: { scope: 'request' }, holdMs: 30_000, pendingTtlMs: MINUTE, ...overrides };
}

/** A new pending request by alice, created at `now`. */
export function pending(now: number, overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id: randomUUID(),
    status: 'pending',
    issuer: 'corp',
    subject: 'alice',
    target: 'orders-db',
    method: 'POST',
    path: '/admin/reindex',
    rule: 'prod/approve-writes',
    reason: 'INC-42',
    spec: spec(),
    votes: [],
    createdAt: now,
    expiresAt: now + MINUTE,
    decidedAt: null,
    decisionReason: null,
    ...overrides,
  };
}

export function keyOf(request: ApprovalRequest): { issuer: string; subject: string; target: string; rule: string; method: string; path: string } {
  return { issuer: request.issuer, subject: request.subject, target: request.target, rule: request.rule, method: request.method, path: request.path };
}

/**
 * The behaviour every ApprovalStore must have. Memory and Redis run exactly this, so the gate and
 * the approvals API can rely on one set of semantics whichever is configured.
 */
export function approvalStoreSuite(name: string, makeStore: () => Promise<StoreHarness>): void {
  async function withStore(run: (h: StoreHarness) => Promise<void>): Promise<void> {
    const harness = await makeStore();
    try {
      await run(harness);
    } finally {
      await harness.close();
    }
  }

  describe(name, () => {
    describe('create, get, list', () => {
      test('a created request reads back unchanged; an unknown id reads as undefined', () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now());
          await store.create(request);
          assert.deepEqual(await store.get(request.id), request);
          assert.equal(await store.get('no-such-id'), undefined);
        }));

      test('create refuses a request that is not new and pending, and a duplicate id', () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now());
          await assert.rejects(store.create({ ...request, status: 'approved' }), { code: 'ERR_APPROVAL_INVALID' });
          await assert.rejects(store.create({ ...request, spec: spec({ approverGroups: [] }) }), { code: 'ERR_APPROVAL_INVALID' });
          await assert.rejects(store.create({ ...request, spec: spec({ quorum: { min: 0 } }) }), { code: 'ERR_APPROVAL_INVALID' });
          await store.create(request);
          await assert.rejects(store.create(request), { code: 'ERR_APPROVAL_INVALID' });
        }));

      test('list filters by status, subject and target, oldest first, and honours limit', () =>
        withStore(async ({ store, clock }) => {
          const t = clock.now();
          const a = pending(t, { subject: 'alice', target: 'orders-db' });
          const b = pending(t + 1, { subject: 'erin', target: 'orders-db' });
          const c = pending(t + 2, { subject: 'alice', target: 'billing' });
          const d = pending(t + 3, { subject: 'alice', target: 'billing', expiresAt: t + 1000 });
          for (const request of [c, a, d, b]) await store.create(request);
          await store.vote(b.id, bob, true, 'ok', clock.now());
          clock.advance(2000); // d is now overdue

          const ids = async (filter: Parameters<ApprovalStore['list']>[0]) => (await store.list(filter)).map((r) => r.id);
          assert.deepEqual(await ids({}), [a.id, b.id, c.id, d.id]);
          assert.deepEqual(await ids({ status: 'pending' }), [a.id, c.id]);
          assert.deepEqual(await ids({ status: 'approved' }), [b.id]);
          assert.deepEqual(await ids({ status: 'expired' }), [d.id]);
          assert.deepEqual(await ids({ subject: 'alice' }), [a.id, c.id, d.id]);
          assert.deepEqual(await ids({ target: 'billing', status: 'pending' }), [c.id]);
          assert.deepEqual(await ids({ subject: 'alice', limit: 2 }), [a.id, c.id]);
          await assert.rejects(store.list({ limit: -1 }), { code: 'ERR_APPROVAL_INVALID' });
          // An overdue pending request reads as expired everywhere, not only in list().
          assert.equal((await store.get(d.id))?.status, 'expired');
        }));
    });

    describe('votes', () => {
      test("quorum 'any': the first approval decides", () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now());
          await store.create(request);
          const now = clock.now();
          const decided = await store.vote(request.id, bob, true, ' looks fine ', now);
          assert.equal(decided.status, 'approved');
          assert.equal(decided.decidedAt, now);
          assert.equal(decided.decisionReason, 'looks fine');
          assert.deepEqual(decided.votes, [{ approver: 'bob', issuer: 'corp', groups: ['sre'], approve: true, reason: 'looks fine', at: now }]);
          assert.deepEqual(await store.get(request.id), decided);
        }));

      test('quorum { min: 2 }: two distinct approvers', () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now(), { spec: spec({ quorum: { min: 2 } }) });
          await store.create(request);
          const first = await store.vote(request.id, bob, true, 'one', clock.now());
          assert.equal(first.status, 'pending');
          assert.equal(first.votes.length, 1);
          assert.equal((await store.get(request.id))?.votes.length, 1);
          await assert.rejects(store.vote(request.id, bob, true, 'again', clock.now()), { code: 'ERR_APPROVAL_DUPLICATE_VOTE' });
          const second = await store.vote(request.id, carol, true, 'two', clock.now());
          assert.equal(second.status, 'approved');
          assert.equal(second.decisionReason, 'two');
        }));

      test("quorum 'every-group': one approving member of every group", () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now(), { spec: spec({ approverGroups: ['sre', 'dba'], quorum: 'every-group' }) });
          await store.create(request);
          assert.equal((await store.vote(request.id, bob, true, 'sre ok', clock.now())).status, 'pending');
          assert.equal((await store.vote(request.id, carol, true, 'sre ok too', clock.now())).status, 'pending');
          const done = await store.vote(request.id, dave, true, 'dba ok', clock.now());
          assert.equal(done.status, 'approved');
          assert.equal(done.decisionReason, 'dba ok');
        }));

      test('the requester can never vote on their own request, even as an approver', () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now());
          await store.create(request);
          await assert.rejects(store.vote(request.id, { ...alice, groups: ['sre'] }, true, 'me', clock.now()), { code: 'ERR_APPROVAL_SELF' });
          // Same subject string from another issuer is another person.
          const other = await store.vote(request.id, { issuer: 'partner', subject: 'alice', groups: ['sre'] }, true, 'ok', clock.now());
          assert.equal(other.status, 'approved');
        }));

      test('a voter outside the approver groups is refused', () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now());
          await store.create(request);
          await assert.rejects(store.vote(request.id, dave, true, 'ok', clock.now()), { code: 'ERR_APPROVAL_NOT_APPROVER' });
          assert.equal((await store.get(request.id))?.votes.length, 0);
        }));

      test('a denial needs a reason, is final, and carries the reason', () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now(), { spec: spec({ quorum: { min: 2 } }) });
          await store.create(request);
          await assert.rejects(store.vote(request.id, bob, false, '   ', clock.now()), { code: 'ERR_APPROVAL_INVALID' });
          const now = clock.now();
          const denied = await store.vote(request.id, bob, false, 'not during the freeze', now);
          assert.equal(denied.status, 'denied');
          assert.equal(denied.decisionReason, 'not during the freeze');
          assert.equal(denied.decidedAt, now);
          await assert.rejects(store.vote(request.id, carol, true, 'ok', clock.now()), { code: 'ERR_APPROVAL_ALREADY_DECIDED' });
          assert.equal(await store.takeGrant(keyOf(request), clock.now()), undefined);
        }));

      test('an expired request cannot be decided; an unknown one is not found', () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now());
          await store.create(request);
          clock.advance(MINUTE);
          await assert.rejects(store.vote(request.id, bob, true, 'late', clock.now()), { code: 'ERR_APPROVAL_EXPIRED' });
          assert.equal((await store.get(request.id))?.status, 'expired');
          await assert.rejects(store.vote('no-such-id', bob, true, 'ok', clock.now()), { code: 'ERR_APPROVAL_NOT_FOUND' });
        }));

      test('a decided request refuses further votes', () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now());
          await store.create(request);
          await store.vote(request.id, bob, true, 'ok', clock.now());
          await assert.rejects(store.vote(request.id, carol, true, 'ok', clock.now()), { code: 'ERR_APPROVAL_ALREADY_DECIDED' });
          await assert.rejects(store.vote(request.id, carol, false, 'no', clock.now()), { code: 'ERR_APPROVAL_ALREADY_DECIDED' });
        }));
    });

    describe('grants', () => {
      test('a request-scope grant covers only its method and path, and is taken exactly once', () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now());
          await store.create(request);
          assert.equal(await store.takeGrant(keyOf(request), clock.now()), undefined);
          await store.vote(request.id, bob, true, 'ok', clock.now());
          assert.equal(await store.takeGrant({ ...keyOf(request), path: '/admin/drop' }, clock.now()), undefined);
          assert.equal(await store.takeGrant({ ...keyOf(request), subject: 'erin' }, clock.now()), undefined);
          const taken = await Promise.all([1, 2, 3].map(() => store.takeGrant(keyOf(request), clock.now())));
          const granted = taken.filter((grant) => grant !== undefined);
          assert.equal(granted.length, 1);
          assert.deepEqual(granted[0], {
            approvalId: request.id, issuer: 'corp', subject: 'alice', target: 'orders-db', rule: 'prod/approve-writes',
            scope: 'request', method: 'POST', path: '/admin/reindex', expiresAt: request.expiresAt,
          });
          assert.equal(await store.takeGrant(keyOf(request), clock.now()), undefined);
        }));

      test('a window grant is reused for any method and path until the window ends', () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now(), { spec: spec({ grant: { scope: 'window', windowMs: 10 * MINUTE } }) });
          await store.create(request);
          const decidedAt = clock.now();
          await store.vote(request.id, bob, true, 'ok for the incident', decidedAt);
          const first = await store.takeGrant(keyOf(request), clock.now());
          assert.equal(first?.scope, 'window');
          assert.equal(first?.expiresAt, decidedAt + 10 * MINUTE);
          assert.deepEqual(await store.takeGrant({ ...keyOf(request), method: 'DELETE', path: '/rows/7' }, clock.now()), first);
          assert.equal(await store.takeGrant({ ...keyOf(request), rule: 'prod/other' }, clock.now()), undefined);
          clock.advance(10 * MINUTE - 1000);
          assert.deepEqual(await store.takeGrant(keyOf(request), clock.now()), first);
          // The approved record stays readable while its window is open, past the pending TTL.
          assert.equal((await store.get(request.id))?.status, 'approved');
          clock.advance(1000);
          assert.equal(await store.takeGrant(keyOf(request), clock.now()), undefined);
        }));
    });

    describe('markCallerLeft', () => {
      test('a pending request records when its caller left; an approval after that still writes the grant for the retry', () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now());
          await store.create(request);
          clock.advance(1000);
          const leftAt = clock.now();
          const left = await store.markCallerLeft(request.id, leftAt);
          assert.equal(left?.callerLeftAt, leftAt);
          assert.equal(left?.status, 'pending', 'still pending: the caller may retry');
          assert.equal((await store.get(request.id))?.callerLeftAt, leftAt);
          assert.equal((await store.list({ status: 'pending' }))[0]?.callerLeftAt, leftAt, 'approvers see it in the queue');
          assert.equal((await store.findPending(keyOf(request), clock.now()))?.id, request.id, 'a retry joins the same request');
          clock.advance(500);
          const leftAgain = clock.now();
          assert.equal((await store.markCallerLeft(request.id, leftAgain))?.callerLeftAt, leftAgain, 'a later leave is the one shown');
          const approved = await store.vote(request.id, bob, true, 'ok', clock.now());
          assert.equal(approved.status, 'approved');
          assert.equal(approved.callerLeftAt, leftAgain);
          assert.equal((await store.takeGrant(keyOf(request), clock.now()))?.approvalId, request.id, 'the retry takes the grant');
        }));

      test('nothing is recorded for a decided, expired or unknown request', () =>
        withStore(async ({ store, clock }) => {
          const decided = pending(clock.now());
          const overdue = pending(clock.now());
          await store.create(decided);
          await store.create(overdue);
          await store.vote(decided.id, bob, true, 'ok', clock.now());
          assert.equal(await store.markCallerLeft(decided.id, clock.now()), undefined);
          assert.equal((await store.get(decided.id))?.callerLeftAt, undefined);
          assert.equal(await store.markCallerLeft(overdue.id, overdue.expiresAt), undefined);
          assert.equal(await store.markCallerLeft(randomUUID(), clock.now()), undefined);
          await assert.rejects(store.create(pending(clock.now(), { callerLeftAt: clock.now() })), { code: 'ERR_APPROVAL_INVALID' });
        }));
    });

    describe('findPending', () => {
      test('finds the pending request for the same key only, and only while it is pending', () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now());
          const later = pending(clock.now(), { path: '/admin/other' });
          await store.create(request);
          await store.create(later);
          assert.equal((await store.findPending(keyOf(request), clock.now()))?.id, request.id);
          assert.equal((await store.findPending(keyOf(later), clock.now()))?.id, later.id);
          assert.equal(await store.findPending({ ...keyOf(request), issuer: 'partner' }, clock.now()), undefined);
          assert.equal(await store.findPending(keyOf(later), later.expiresAt), undefined, 'overdue');
          await store.vote(request.id, bob, true, 'ok', clock.now());
          assert.equal(await store.findPending(keyOf(request), clock.now()), undefined, 'decided');
        }));
    });

    describe('waitForDecision', () => {
      test('resolves with the approved request', () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now());
          await store.create(request);
          const waiting = store.waitForDecision(request.id, new AbortController().signal);
          await settle();
          const voted = await store.vote(request.id, bob, true, 'ok', clock.now());
          assert.deepEqual(await waiting, voted);
        }));

      test('resolves with the denied request', () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now());
          await store.create(request);
          const waiting = store.waitForDecision(request.id, new AbortController().signal);
          await settle();
          await store.vote(request.id, bob, false, 'no', clock.now());
          const decided = await waiting;
          assert.equal(decided?.status, 'denied');
          assert.equal(decided?.decisionReason, 'no');
        }));

      test('answers at once for a request already decided, and refuses an unknown id', () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now());
          await store.create(request);
          await store.vote(request.id, bob, true, 'ok', clock.now());
          assert.equal((await store.waitForDecision(request.id, new AbortController().signal))?.status, 'approved');
          await assert.rejects(store.waitForDecision('no-such-id', new AbortController().signal), { code: 'ERR_APPROVAL_NOT_FOUND' });
        }));

      test('returns undefined when the signal aborts (or was already aborted), and a vote after that is harmless', () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now());
          await store.create(request);
          assert.equal(await store.waitForDecision(request.id, AbortSignal.abort()), undefined);
          const controller = new AbortController();
          const waiting = store.waitForDecision(request.id, controller.signal);
          await settle();
          controller.abort();
          assert.equal(await waiting, undefined);
          const kept = store.waitForDecision(request.id, new AbortController().signal);
          await settle();
          await store.vote(request.id, bob, true, 'ok', clock.now());
          assert.equal((await kept)?.status, 'approved');
        }));

      test("resolves as 'expired' when the request expires undecided (its own timer)", () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now(), { expiresAt: clock.now() + 150 });
          await store.create(request);
          const results = await Promise.all([1, 2, 3].map(() => store.waitForDecision(request.id, AbortSignal.timeout(5000))));
          for (const result of results) {
            assert.equal(result?.status, 'expired');
            assert.equal(result?.decidedAt, request.expiresAt);
          }
        }));

      test("resolves as 'expired' when cleanup runs past the expiry", () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now());
          await store.create(request);
          const waiting = store.waitForDecision(request.id, AbortSignal.timeout(5000));
          await settle();
          clock.advance(MINUTE);
          await store.cleanup(clock.now());
          assert.equal((await waiting)?.status, 'expired');
        }));

      test('1,000 waiters on one request are all released by one vote', () =>
        withStore(async ({ store, clock }) => {
          const request = pending(clock.now());
          await store.create(request);
          const waiting = Array.from({ length: 1000 }, () => store.waitForDecision(request.id, new AbortController().signal));
          await settle();
          await store.vote(request.id, bob, true, 'ok', clock.now());
          const results = await Promise.all(waiting);
          assert.equal(results.filter((r) => r?.status === 'approved').length, 1000);
        }));

      test('1,000 requests with a waiter each are all released, one decision each', () =>
        withStore(async ({ store, clock }) => {
          const requests = Array.from({ length: 1000 }, (_, i) => pending(clock.now(), { path: `/admin/job/${i}` }));
          await Promise.all(requests.map((request) => store.create(request)));
          const waiting = requests.map((request) => store.waitForDecision(request.id, new AbortController().signal));
          await settle();
          await Promise.all(requests.map((request, i) => store.vote(request.id, bob, i % 2 === 0, i % 2 === 0 ? 'ok' : 'no', clock.now())));
          const results = await Promise.all(waiting);
          results.forEach((result, i) => {
            assert.equal(result?.id, requests[i]!.id);
            assert.equal(result?.status, i % 2 === 0 ? 'approved' : 'denied');
          });
        }));

      test('close rejects whoever is still waiting (callers fail closed instead of hanging)', async () => {
        const { store, clock, close } = await makeStore();
        try {
          const request = pending(clock.now());
          await store.create(request);
          const waiting = store.waitForDecision(request.id, new AbortController().signal);
          await settle();
          const failed = assert.rejects(waiting, { code: 'ERR_APPROVAL_STORE_UNAVAILABLE' });
          await store.close();
          await failed;
          await assert.rejects(store.get(request.id), { code: 'ERR_APPROVAL_STORE_UNAVAILABLE' });
        } finally {
          await close();
        }
      });
    });

    describe('cleanup', () => {
      test('removes what has expired, keeps decided requests until expiresAt and window approvals until the window ends', () =>
        withStore(async ({ store, clock }) => {
          const t = clock.now();
          const undecided = pending(t, { expiresAt: t + 1000, path: '/a' });
          const single = pending(t, { expiresAt: t + 1000, path: '/b' });
          const window = pending(t, { expiresAt: t + 1000, rule: 'prod/window', spec: spec({ grant: { scope: 'window', windowMs: 10_000 } }) });
          for (const request of [undecided, single, window]) await store.create(request);
          await store.vote(single.id, bob, true, 'ok', t);
          await store.vote(window.id, bob, true, 'ok', t);

          assert.equal(await store.cleanup(t + 500), 0);
          assert.equal((await store.get(single.id))?.status, 'approved', 'decided, kept until expiresAt');

          clock.advance(2000);
          // undecided + single + single's unused grant.
          assert.equal(await store.cleanup(clock.now()), 3);
          assert.equal(await store.get(undecided.id), undefined);
          assert.equal(await store.get(single.id), undefined);
          assert.equal(await store.takeGrant(keyOf(single), clock.now()), undefined);
          assert.equal((await store.get(window.id))?.status, 'approved');
          assert.equal((await store.takeGrant(keyOf(window), clock.now()))?.approvalId, window.id);

          clock.advance(10_000);
          // window's record and its grant.
          assert.equal(await store.cleanup(clock.now()), 2);
          assert.equal(await store.get(window.id), undefined);
          assert.deepEqual(await store.list({}), []);
          assert.equal(await store.cleanup(clock.now()), 0);
        }));
    });
  });
}

/** Lets a store finish registering waiters (its first read) before the test acts. */
async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 20));
}
