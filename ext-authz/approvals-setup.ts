import type { AdminServer } from '../common/admin-server.ts';
import { describeError, isSluiceError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { SluiceConfig } from '../common/config.ts';
import type { IdentityVerifier } from './identity/types.ts';
import { MemoryApprovalStore } from './approvals/memory-store.ts';
import { RedisApprovalStore } from './approvals/redis-store.ts';
import { MultiNotifier, type ApprovalNotifier } from './approvals/notifier.ts';
import { WebhookNotifier } from './approvals/webhook.ts';
import { registerApprovalsApi } from './approvals/api.ts';
import type { ApprovalStore } from './approvals/types.ts';
import { ApprovalGate } from './approval-gate.ts';
import { DecisionLogNotifier } from './approval-log-notifier.ts';
import type { ExtAuthzMetrics } from './metrics.ts';

export interface Approvals {
  gate: ApprovalGate;
  /** For readers beside the API (the console's live list); never for votes, which go through the API. */
  store: ApprovalStore;
  close(): Promise<void>;
}

/** Any id will do: a lookup that answers at all proves the store is reachable. */
const PROBE_ID = 'readiness-probe';

/**
 * Builds the approvals side of ext-authz from sluice.yaml: the store (in-process, or Redis shared
 * by every replica), notifiers (decision log + webhooks), the gate the authorizer pauses in, the
 * approvals API and an `approval-store` readiness check on the service's admin server, and a
 * periodic clean-up of expired requests and grants.
 */
export async function startApprovals(config: SluiceConfig, deps: { admin: AdminServer; verifier: IdentityVerifier; logger: Logger; decisionLog: Logger; metrics?: ExtAuthzMetrics; notifiers?: readonly ApprovalNotifier[] }): Promise<Approvals> {
  const settings = config.approvals;
  // A Redis store that cannot be reached fails boot (ERR_APPROVAL_STORE_UNAVAILABLE): a gateway
  // whose approvals cannot work should not report itself started. Once running, an outage only
  // fails approve rules closed; every other request is unaffected.
  const store: ApprovalStore = settings.store === 'redis'
    ? await RedisApprovalStore.connect({ url: settings.redisUrl, keyPrefix: settings.redisKeyPrefix, logger: deps.logger })
    : new MemoryApprovalStore();
  const publicUrl = settings.publicUrl || undefined;
  const notifier: ApprovalNotifier = new MultiNotifier([
    new DecisionLogNotifier(deps.decisionLog),
    ...(deps.notifiers ?? []),
    ...settings.webhooks.map((hook) => new WebhookNotifier({ url: hook.url, format: hook.format, logger: deps.logger, ...(publicUrl ? { approvalsUrl: publicUrl } : {}) })),
  ], deps.logger);
  const metrics = deps.metrics ? { metrics: deps.metrics } : {};
  const gate = new ApprovalGate({ store, notifier, logger: deps.logger, ...metrics });
  registerApprovalsApi(deps.admin, { store, verifier: deps.verifier, auditLog: deps.decisionLog, notifier, ...metrics });
  // Read at scrape time from the store (shared by every replica with Redis): pending requests are
  // human-scale, and a count kept here would miss those opened or decided through other replicas.
  deps.metrics?.countPendingWith(async () => (await store.list({ status: 'pending' })).length);
  deps.admin.readiness('approval-store', async () => {
    try {
      await store.get(PROBE_ID);
      return { ok: true, detail: settings.store };
    } catch (err) {
      // The store's message names hosts and ports: the log gets it (via the throw), the probe a fixed line.
      if (isSluiceError(err) && err.code === 'ERR_APPROVAL_STORE_UNAVAILABLE') {
        deps.logger.warn({ err: describeError(err) }, 'approval store unreachable');
        return { ok: false, detail: `the ${settings.store} approval store is unreachable` };
      }
      throw err;
    }
  });
  const cleanup = setInterval(() => {
    store.cleanup(Date.now()).catch((err: unknown) => deps.logger.warn({ err: describeError(err) }, 'approval clean-up failed; will retry'));
  }, settings.cleanupIntervalMs);
  cleanup.unref();
  deps.logger.info({ store: settings.store, port: deps.admin.port }, 'approvals API registered on the admin server');
  return {
    gate,
    store,
    close: async () => {
      clearInterval(cleanup);
      await store.close();
    },
  };
}
