import { describeError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { ApprovalRequest } from './types.ts';

export interface ApprovalEvent {
  type: 'approval.requested' | 'approval.decided';
  request: ApprovalRequest;
}

/**
 * Tells people that an approval is waiting or was decided. Fire-and-forget: `notify` returns at
 * once, never throws and never waits for delivery, so a slow or dead chat webhook can neither hold
 * a request nor fail a vote.
 */
export interface ApprovalNotifier {
  notify(event: ApprovalEvent): void;
}

/** Sends every event to each notifier; one that misbehaves (throws) does not stop the others. */
export class MultiNotifier implements ApprovalNotifier {
  private readonly notifiers: readonly ApprovalNotifier[];

  constructor(notifiers: readonly ApprovalNotifier[], private readonly logger: Logger) {
    this.notifiers = [...notifiers];
  }

  notify(event: ApprovalEvent): void {
    for (const notifier of this.notifiers) {
      try {
        notifier.notify(event);
      } catch (err) {
        this.logger.error({ err: describeError(err), type: event.type, approval_id: event.request.id }, 'approval notifier threw; ignored');
      }
    }
  }
}
