import { startExtProcService } from '../../ext-proc/service.ts';
import { JwtIdentityVerifier, parseIssuerConfig } from '../../ext-authz/identity/index.ts';
import type { SluiceConfig } from '../../common/config.ts';
import type { Logger } from '../../common/logger.ts';
import type { Command } from './types.ts';
import { devIssuers, drainFor, followConfig, onShutdown, parse, port, readConfig } from './common.ts';
import { createLogger } from '../../common/logger.ts';

export const extProcCommand: Command = {
  async run(args) {
    const { values } = parse(args, { config: { type: 'string', short: 'c' }, 'admin-port': { type: 'string' }, port: { type: 'string' }, 'drain-delay': { type: 'string' } });
    const config = readConfig(values.config);
    const drain = drainFor(config.extProc.drain, values['drain-delay']);
    const grpcPort = values.port !== undefined ? { port: port(values.port, '--port') } : {};
    const logger = createLogger('ext-proc', { level: config.log.level });
    // The admin server (/healthz, /readyz, /metrics) is how Envoy's operator and a supervisor see it.
    const adminPort = values['admin-port'] !== undefined ? port(values['admin-port'], '--admin-port') : config.extProc.adminPort;
    const service = await startExtProcService(config, { logger, adminPort, ...grpcPort, ...sessionsApi(config, logger) });
    // sluice.yaml is watched: credentials and masking profiles are recompiled and swapped.
    const store = followConfig(config, logger, [service.configSubscriber]);
    onShutdown(logger, async () => {
      await store.close();
      await service.close(undefined, { drain });
    });
    return -1;
  },
};

/** With the console on, its auditors read sessions through this API with their own ID token. */
function sessionsApi(config: SluiceConfig, logger: Logger) {
  if (!config.console.enabled) return {};
  const issuers = [...config.issuers, ...devIssuers(config).map((raw, i) => parseIssuerConfig(raw, `dev issuer ${i}`))];
  return { sessionsApi: { verifier: new JwtIdentityVerifier({ issuers, logger }), readers: config.console.auditors } };
}
