import type { ApprovalEvent, ApprovalNotifier } from '../ext-authz/approvals/notifier.ts';

/**
 * Wakes the console's open approval pages. It is one more notifier of the approval gate and the
 * approvals API (approvals-setup.ts), so a request held on this replica, or a vote cast here,
 * reaches every open page at once. The pages then read the store itself: the event only says
 * "look again", so nothing a page shows comes from the event. What this replica cannot hear
 * (requests held or decided on another replica, expiry) is picked up by each page's periodic
 * re-read (approvals-events.ts).
 */
export class ApprovalFeed implements ApprovalNotifier {
  readonly #listeners = new Set<(event: ApprovalEvent) => void>();

  notify(event: ApprovalEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  subscribe(listener: (event: ApprovalEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
