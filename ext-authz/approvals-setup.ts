import { describeError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { SluiceConfig } from '../common/config.ts';
import type { IdentityVerifier } from './identity/types.ts';
import { MemoryApprovalStore } from './approvals/memory-store.ts';
import { RedisApprovalStore } from './approvals/redis-store.ts';
import { MultiNotifier, type ApprovalNotifier } from './approvals/notifier.ts';
import { WebhookNotifier } from './approvals/webhook.ts';
import { startApprovalsApi } from './approvals/api.ts';
import type { ApprovalStore } from './approvals/types.ts';
import { ApprovalGate } from './approval-gate.ts';
import { DecisionLogNotifier } from './approval-log-notifier.ts';

export interface Approvals {
  gate: ApprovalGate;
  apiPort: number;
  close(): Promise<void>;
}

/**
 * Builds the approvals side of ext-authz from sluice.yaml: the store (in-process, or Redis shared
 * by every replica), notifiers (decision log + webhooks), the gate the authorizer pauses in, the
 * approvals API on the admin port, and a periodic clean-up of expired requests and grants.
 */
export async function startApprovals(config: SluiceConfig, deps: { verifier: IdentityVerifier; logger: Logger; decisionLog: Logger; port?: number }): Promise<Approvals> {
  const settings = config.approvals;
  const store: ApprovalStore = settings.store === 'redis'
    ? new RedisApprovalStore({ url: settings.redisUrl, keyPrefix: settings.redisKeyPrefix, logger: deps.logger })
    : new MemoryApprovalStore();
  const publicUrl = settings.publicUrl || undefined;
  const notifier: ApprovalNotifier = new MultiNotifier([
    new DecisionLogNotifier(deps.decisionLog),
    ...settings.webhooks.map((hook) => new WebhookNotifier({ url: hook.url, format: hook.format, logger: deps.logger, ...(publicUrl ? { approvalsUrl: publicUrl } : {}) })),
  ], deps.logger);
  const gate = new ApprovalGate({ store, notifier, logger: deps.logger });
  const api = await startApprovalsApi({
    store, verifier: deps.verifier, logger: deps.logger, auditLog: deps.decisionLog, notifier,
    host: settings.host, port: deps.port ?? settings.port,
  });
  const cleanup = setInterval(() => {
    store.cleanup(Date.now()).catch((err: unknown) => deps.logger.warn({ err: describeError(err) }, 'approval clean-up failed; will retry'));
  }, settings.cleanupIntervalMs);
  cleanup.unref();
  deps.logger.info({ store: settings.store, port: api.port }, 'approvals API listening');
  return {
    gate,
    apiPort: api.port,
    close: async () => {
      clearInterval(cleanup);
      await api.close();
      await store.close();
    },
  };
}
