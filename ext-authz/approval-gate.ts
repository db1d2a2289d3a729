import { randomUUID } from 'node:crypto';
import { describeError, isSluiceError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { Identity } from './identity/types.ts';
import type { ApprovalNotifier } from './approvals/notifier.ts';
import type { ApprovalDatabase, ApprovalRequest, ApprovalSpec, ApprovalStore } from './approvals/types.ts';
import type { Action } from './check-input.ts';
import { statementKey } from './protocols/postgres/statement.ts';
import { extAuthzMetrics, type ExtAuthzMetrics, type ReleaseOutcome } from './metrics.ts';
import type { HistogramCell } from '../common/metrics/index.ts';

export interface GateRequest {
  identity: Identity;
  target: string;
  method: string;
  path: string;
  rule: string;
  spec: ApprovalSpec;
  /** The caller's stated reason (x-sluice-reason), already trimmed and capped. */
  reason: string;
  /** How long Envoy will wait for this check (from the route); the hold never exceeds it. */
  holdBudgetMs: number;
  /** A database statement: what approvers are shown (the normalized text, never the constants). */
  database?: ApprovalDatabase;
}

/**
 * What an approval is about, as the approval records name it (method and path: the store, the API
 * and approvers' tools read those). Derived from the action here and nowhere else. A database
 * statement is method `SQL` and path `sql:<sha256 of its normalized text>`, so the same statement
 * with other constants is the same approval, and the record shows approvers the normalized text.
 */
export function approvalAction(action: Action): Pick<GateRequest, 'method' | 'path' | 'database'> {
  switch (action.kind) {
    case 'http':
      return { method: action.method, path: action.path };
    case 'postgres': {
      const analysis = action.statement?.analysis;
      // A login never reaches the gate (grants have no approve effect); an unparsable text neither.
      if (analysis === undefined || !analysis.ok) return { method: 'LOGIN', path: `login:${action.user}@${action.database}` };
      return {
        method: 'SQL',
        path: statementKey(analysis.normalized),
        database: { user: action.user, name: action.database, statement: analysis.normalized },
      };
    }
    case 'redis':
      // A redis grant has no approve effect: a login never reaches the gate.
      return { method: 'LOGIN', path: `redis-login:${action.username}` };
  }
}

export type GateOutcome =
  /** `waitedMs`: how long this request was held for the decision (0 when a grant let it through). */
  | { kind: 'allow'; approvalId: string; waitedMs: number }
  | { kind: 'denied'; approval: ApprovalRequest }
  | { kind: 'pending'; approval: ApprovalRequest }
  | { kind: 'unavailable'; code: string };

export interface ApprovalGateDeps {
  store: ApprovalStore;
  notifier: ApprovalNotifier;
  logger: Logger;
  now?: () => number;
  newId?: () => string;
  /** How long held requests waited, by how they were released; unscraped when absent. */
  metrics?: Pick<ExtAuthzMetrics, 'approvalRelease'>;
}

const RELEASE_OUTCOMES: readonly ReleaseOutcome[] = ['approved', 'denied', 'expired', 'hold_ended', 'caller_left'];

/**
 * The just-in-time approval pause, in phases: a standing grant lets the request through; else the
 * request joins (or opens) a pending approval, approvers are notified, and the live request is
 * held — an await on the store, no polling, no CPU — until a decision, the hold, or Envoy's
 * cancel. A store failure is `unavailable`: the caller denies (fail closed).
 */
export class ApprovalGate {
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly released: Readonly<Record<ReleaseOutcome, HistogramCell>>;

  constructor(private readonly deps: ApprovalGateDeps) {
    this.now = deps.now ?? Date.now;
    this.newId = deps.newId ?? randomUUID;
    const release = (deps.metrics ?? extAuthzMetrics()).approvalRelease;
    this.released = Object.fromEntries(RELEASE_OUTCOMES.map((o) => [o, release.cell(o)])) as Record<ReleaseOutcome, HistogramCell>;
  }

  async decide(request: GateRequest, signal: AbortSignal): Promise<GateOutcome> {
    const key = {
      issuer: request.identity.issuerName,
      subject: request.identity.subject,
      target: request.target,
      rule: request.rule,
      method: request.method,
      path: request.path,
    };
    try {
      const grant = await this.deps.store.takeGrant(key, this.now());
      if (grant) return { kind: 'allow', approvalId: grant.approvalId, waitedMs: 0 };

      const approval = (await this.deps.store.findPending(key, this.now())) ?? (await this.open(request));
      const holdMs = Math.min(request.spec.holdMs, Math.max(0, request.holdBudgetMs));
      if (holdMs === 0) return { kind: 'pending', approval };

      const heldAt = this.now();
      const decided = await holdFor(holdMs, signal, (hold) => this.deps.store.waitForDecision(approval.id, hold));
      this.released[releaseOutcome(decided, signal)].observe(Math.max(0, this.now() - heldAt) / 1000);
      if (decided === undefined && signal.aborted) {
        // Envoy cancelled the check: the caller gave up. Tell approvers nobody waits any more; the
        // request stays pending, so an approval still becomes the grant the retry takes.
        await this.callerLeft(approval, request);
        return { kind: 'pending', approval };
      }
      if (decided === undefined || decided.status === 'pending') return { kind: 'pending', approval: decided ?? approval };
      if (decided.status !== 'approved') return { kind: 'denied', approval: decided };
      // The approval wrote a grant; take it like any later request would (a request-scope grant is
      // consumed here, so the approval lets exactly one request through).
      const granted = await this.deps.store.takeGrant(key, this.now());
      return granted ? { kind: 'allow', approvalId: decided.id, waitedMs: Math.max(0, this.now() - heldAt) } : { kind: 'pending', approval: decided };
    } catch (err) {
      const code = isSluiceError(err) ? err.code : 'ERR_INTERNAL';
      this.deps.logger.error({ err: describeError(err), target: request.target, rule: request.rule }, 'approval store failed; denying');
      return { kind: 'unavailable', code };
    }
  }

  /** Best effort: the caller is gone either way, so a store failure is only logged. */
  private async callerLeft(approval: ApprovalRequest, request: GateRequest): Promise<void> {
    try {
      const marked = await this.deps.store.markCallerLeft(approval.id, this.now());
      if (marked) this.deps.logger.info({ approval_id: approval.id, subject: approval.subject, target: request.target }, 'approval: the held caller left before a decision');
    } catch (err) {
      this.deps.logger.warn({ err: describeError(err), approval_id: approval.id }, 'approval: could not record that the caller left');
    }
  }

  private async open(request: GateRequest): Promise<ApprovalRequest> {
    const now = this.now();
    const approval: ApprovalRequest = {
      id: this.newId(),
      status: 'pending',
      issuer: request.identity.issuerName,
      subject: request.identity.subject,
      target: request.target,
      method: request.method,
      path: request.path,
      rule: request.rule,
      reason: request.reason,
      spec: request.spec,
      votes: [],
      createdAt: now,
      expiresAt: now + request.spec.pendingTtlMs,
      decidedAt: null,
      decisionReason: null,
      ...(request.database === undefined ? {} : { database: request.database }),
    };
    await this.deps.store.create(approval);
    this.deps.logger.info({ approval_id: approval.id, subject: approval.subject, issuer: approval.issuer, target: approval.target,
      method: approval.method, path: approval.path, rule: approval.rule }, 'approval requested');
    this.deps.notifier.notify({ type: 'approval.requested', request: approval });
    return approval;
  }
}

/** Why a hold ended: a decision (as the store has it), the hold's own end, or the caller leaving. */
function releaseOutcome(decided: ApprovalRequest | undefined, signal: AbortSignal): ReleaseOutcome {
  if (decided === undefined) return signal.aborted ? 'caller_left' : 'hold_ended';
  return decided.status === 'pending' ? 'hold_ended' : decided.status;
}

/**
 * Runs `wait` with a signal that aborts after `ms` or when `parent` aborts. A plain timer rather
 * than AbortSignal.any([..., AbortSignal.timeout(ms)]): on Node 20 the timeout signal inside a
 * composite can be garbage-collected before it fires, leaving the request held until Envoy
 * gives up (seen in the e2e suite under GC pressure).
 */
async function holdFor<T>(ms: number, parent: AbortSignal, wait: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  const onParentAbort = () => controller.abort();
  parent.addEventListener('abort', onParentAbort, { once: true });
  try {
    return await wait(controller.signal);
  } finally {
    clearTimeout(timer);
    parent.removeEventListener('abort', onParentAbort);
  }
}
