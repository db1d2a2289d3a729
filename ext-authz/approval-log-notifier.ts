import type { Logger } from '../common/logger.ts';
import type { ApprovalEvent, ApprovalNotifier } from './approvals/notifier.ts';

/** Writes approval events to the decision log, next to the decisions they belong to. */
export class DecisionLogNotifier implements ApprovalNotifier {
  constructor(private readonly decisionLog: Logger) {}

  notify(event: ApprovalEvent): void {
    const r = event.request;
    this.decisionLog.info({
      event: event.type,
      approval_id: r.id,
      status: r.status,
      subject: r.subject,
      issuer: r.issuer,
      target: r.target,
      method: r.method,
      path: r.path,
      rule: r.rule,
      approvers: r.votes.map((v) => ({ approver: v.approver, approve: v.approve })),
    }, event.type);
  }
}
