import path from 'node:path';
import type { Logger } from '../common/logger.ts';
import type { SluiceConfig } from '../common/config.ts';
import { JwtIdentityVerifier, parseIssuerConfig } from './identity/index.ts';
import type { IssuerConfig } from './identity/types.ts';
import { PolicyStore } from './policy/index.ts';
import { policyContext } from './policy-context.ts';
import { Authorizer } from './authorizer.ts';
import { startExtAuthzServer } from './server.ts';
import { startApprovals } from './approvals-setup.ts';

export interface ExtAuthzService {
  port: number;
  /** Port of the approvals API (admin port). */
  approvalsPort: number;
  policies: PolicyStore;
  close(): Promise<void>;
}

export interface ExtAuthzServiceOptions {
  logger: Logger;
  decisionLog: Logger;
  /** Issuers added at run time (the dev issuer, whose URL is known only once it listens). */
  extraIssuers?: unknown[];
  /** Overrides config.extAuthz.port (tests pass 0). */
  port?: number;
  fetch?: typeof fetch;
}

/** Wires config → identity verifier + policy store → authorizer → gRPC server. */
export async function startExtAuthzService(config: SluiceConfig, options: ExtAuthzServiceOptions): Promise<ExtAuthzService> {
  const rawIssuers = [...config.issuers, ...(options.extraIssuers ?? [])];
  const issuers: IssuerConfig[] = rawIssuers.map((raw, i) => parseIssuerConfig(raw, `issuers[${i}]`));
  if (issuers.length === 0) options.logger.warn('no issuers configured: every request will be denied');

  const verifier = new JwtIdentityVerifier({
    issuers,
    maxTokenBytes: config.extAuthz.maxTokenBytes,
    cacheMaxEntries: config.extAuthz.tokenCacheEntries,
    logger: options.logger,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const policyDir = path.resolve(config.baseDir, config.extAuthz.policyDir);
  const policies = await PolicyStore.open(policyDir, { logger: options.logger, context: policyContext(config) });
  policies.watch();

  const approvals = await startApprovals(config, { verifier, logger: options.logger, decisionLog: options.decisionLog });
  const authorizer = new Authorizer({ verifier, policies: () => policies.current(), logger: options.logger, approvals: approvals.gate });
  const server = await startExtAuthzServer({
    authorizer,
    logger: options.logger,
    decisionLog: options.decisionLog,
    host: config.extAuthz.host,
    port: options.port ?? config.extAuthz.port,
  });
  options.logger.info({ port: server.port, issuers: issuers.map((i) => i.name), policyDir }, 'ext-authz listening');
  return {
    port: server.port,
    approvalsPort: approvals.apiPort,
    policies,
    close: async () => {
      await server.close();
      await approvals.close();
      await policies.close();
    },
  };
}
