import type { ServerResponse } from 'node:http';
import { canSee } from '../ext-authz/approvals/api-auth.ts';
import { approvalView, type ApprovalView } from '../ext-authz/approvals/approval-view.ts';
import type { ApprovalStore } from '../ext-authz/approvals/types.ts';
import type { Identity } from '../ext-authz/identity/types.ts';
import type { ApprovalFeed } from './approval-feed.ts';

export interface ApprovalEventsOptions {
  store: Pick<ApprovalStore, 'list'>;
  feed: ApprovalFeed;
  /** The periodic re-read, for what this replica cannot hear. */
  resyncMs?: number;
  /** A comment line keeps proxies from closing an idle stream. */
  heartbeatMs?: number;
}

/**
 * `GET /console/approvals/events`: a server-sent event stream of the pending approvals this
 * person may see (canSee, as the approvals API decides it). Every message is the whole list
 * (`event: pending`), read from the store when the feed says something changed, and at least
 * every `resyncMs`; approvers' queues are human-sized, and a whole list can never leave a page
 * showing a request that is gone.
 */
export function streamPendingApprovals(res: ServerResponse, identity: Identity, signal: AbortSignal, options: ApprovalEventsOptions): Promise<void> {
  const resyncMs = options.resyncMs ?? 2000;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  let reading = false;
  let again = false;
  let last = '';
  const send = async () => {
    // One read at a time per page; a change during a read triggers exactly one more.
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        let approvals: ApprovalView[];
        try {
          approvals = (await options.store.list({ status: 'pending' })).filter((r) => canSee(identity, r)).map(approvalView);
        } catch {
          // The store is down: say so on the page rather than show a stale list as if it were live.
          if (!signal.aborted) res.write(`event: unavailable\ndata: {}\n\n`);
          continue;
        }
        const data = JSON.stringify({ approvals, at: new Date().toISOString() });
        const changed = data.slice(0, data.lastIndexOf(',"at"')) !== last.slice(0, last.lastIndexOf(',"at"'));
        if (!signal.aborted && (changed || last === '')) res.write(`event: pending\ndata: ${data}\n\n`);
        last = data;
      } while (again && !signal.aborted);
    } finally {
      reading = false;
    }
  };
  return new Promise<void>((resolve) => {
    const unsubscribe = options.feed.subscribe(() => void send());
    const resync = setInterval(() => void send(), resyncMs);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
    const stop = () => {
      unsubscribe();
      clearInterval(resync);
      clearInterval(heartbeat);
      res.end();
      resolve();
    };
    if (signal.aborted) return stop();
    signal.addEventListener('abort', stop, { once: true });
    void send();
  });
}
