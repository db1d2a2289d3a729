import { httpStatusOf } from '../common/error-codes.ts';
import type { Logger } from '../common/logger.ts';
import type { Action, CheckInput } from './check-input.ts';
import type { Verdict } from './verdict.ts';

/**
 * One JSON line per decision: who, what, which rule, the effect and how long it took. Built from
 * explicit fields only, so no header, token or claim value can slip in.
 */
export function logDecision(log: Logger, request: CheckInput, verdict: Verdict, latencyMs: number): void {
  const identity = verdict.identity;
  log.info({
    request_id: request.requestId,
    session_id: verdict.kind === 'allow' ? verdict.sessionId : undefined,
    subject: identity?.subject,
    issuer: identity?.issuerName,
    protocol: request.protocol,
    target: verdict.target ?? request.target,
    ...actionFields(request.action),
    effect: verdict.kind,
    rule: verdict.kind === 'allow' ? verdict.decision.rule : verdict.rule ?? null,
    approval_id: verdict.kind === 'allow' ? verdict.approvalId : verdict.extra?.approval_id,
    code: verdict.kind === 'deny' ? verdict.code : undefined,
    status: verdict.kind === 'deny' ? httpStatusOf(verdict.code) : undefined,
    latency_ms: Math.round(latencyMs * 1000) / 1000,
  }, 'decision');
}

/**
 * The action's own summary fields. HTTP keeps the names the log always had; a database action
 * will give its statement kind here (never the statement's values, which may be data).
 */
function actionFields(action: Action): { method: string; path: string } {
  switch (action.kind) {
    case 'http':
      return { method: action.method, path: action.path };
  }
}
