import type { Registry } from 'prom-client';
import type { AdminServer } from '../common/admin-server.ts';
import type { SluiceConfig } from '../common/config.ts';
import { SluiceError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { reachable } from '../envoy/from-config.ts';
import type { ApprovalStore } from '../ext-authz/approvals/types.ts';
import type { IdentityVerifier, IssuerConfig } from '../ext-authz/identity/types.ts';
import type { PolicyStore } from '../ext-authz/policy/index.ts';
import type { ApprovalFeed } from './approval-feed.ts';
import { registerConsole } from './register.ts';

export interface ConsoleSetup {
  config: SluiceConfig;
  admin: AdminServer;
  issuers: readonly IssuerConfig[];
  verifier: IdentityVerifier;
  store: ApprovalStore;
  feed: ApprovalFeed;
  policies: PolicyStore;
  metrics: Registry;
  logger: Logger;
  /** Overrides console.publicUrl (the gateway passes its own admin address). */
  publicUrl?: string;
  /** Overrides console.extProcAdminUrl (the gateway passes its ext-proc child's). */
  extProcAdminUrl?: string;
}

/**
 * Resolves the console's addresses from sluice.yaml and registers it on ext-authz's admin server.
 * A console that names no configured issuer fails boot: a sign-in page that cannot sign anyone
 * in should be found when the operator starts it, not by the first approver.
 */
export function startConsole(setup: ConsoleSetup): { close(): void } {
  const { config } = setup;
  const settings = config.console;
  const issuer = setup.issuers.find((i) => i.name === settings.issuer);
  if (issuer === undefined) {
    throw new SluiceError('ERR_CONFIG_INVALID', `console.issuer "${settings.issuer}" names no configured issuer (known: ${setup.issuers.map((i) => i.name).join(', ') || 'none'})`);
  }
  if (!issuer.audiences.includes(settings.clientId)) {
    throw new SluiceError('ERR_CONFIG_INVALID', `console.clientId "${settings.clientId}" is not an audience of issuer "${issuer.name}": its ID tokens would not verify (add it to the issuer's audiences)`);
  }
  const self = reachable(config.admin.host, setup.admin.port);
  const proc = reachable(config.extProc.host, config.extProc.adminPort);
  const approvalsUrl = `http://${self.host}:${self.port}`;
  const publicUrl = setup.publicUrl || settings.publicUrl || approvalsUrl;
  const extProcUrl = setup.extProcAdminUrl || settings.extProcAdminUrl || `http://${proc.host}:${proc.port}`;
  return registerConsole(setup.admin, {
    settings,
    publicUrl,
    issuerUrl: issuer.issuer,
    verifier: setup.verifier,
    store: setup.store,
    feed: setup.feed,
    policies: () => setup.policies.current(),
    targets: () => config.targets.map((t) => ({ name: t.name, protocol: t.protocol })),
    authzMetrics: setup.metrics,
    approvalsUrl,
    extProcUrl,
    logger: setup.logger,
  });
}
