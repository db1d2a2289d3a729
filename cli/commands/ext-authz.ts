import { startExtAuthzService } from '../../ext-authz/service.ts';
import type { Command } from './types.ts';
import { devIssuers, followConfig, onShutdown, parse, port, readConfig, serviceLoggers } from './common.ts';

export const extAuthzCommand: Command = {
  async run(args) {
    const { values } = parse(args, { config: { type: 'string', short: 'c' }, 'admin-port': { type: 'string' } });
    const config = readConfig(values.config);
    const { logger, decisionLog, flush } = serviceLoggers(config, 'ext-authz');
    const service = await startExtAuthzService(config, {
      logger,
      decisionLog,
      extraIssuers: devIssuers(config),
      ...(values['admin-port'] !== undefined ? { adminPort: port(values['admin-port'], '--admin-port') } : {}),
    });
    // sluice.yaml is watched: its targets and masking defaults are what policies are checked against.
    const store = followConfig(config, logger, [service.configSubscriber], service.policies);
    onShutdown(logger, async () => {
      await store.close();
      await service.close();
      flush();
    });
    return -1;
  },
};
