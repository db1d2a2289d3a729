import type { Logger } from '../common/logger.ts';
import type { ApprovalEvent, ApprovalNotifier } from './approvals/notifier.ts';
import { jsonWebhookBody } from './approvals/webhook-payload.ts';

/**
 * Writes approval events to the decision log, next to the decisions they belong to, in the same
 * fields a JSON webhook carries (one shape for every notification).
 */
export class DecisionLogNotifier implements ApprovalNotifier {
  constructor(private readonly decisionLog: Logger) {}

  notify(event: ApprovalEvent): void {
    const { approval } = jsonWebhookBody(event);
    this.decisionLog.info({ event: event.type, ...approval, approval_id: approval.id }, event.type);
  }
}
