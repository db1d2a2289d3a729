import { startExtAuthzService } from '../../ext-authz/service.ts';
import type { Command } from './types.ts';
import { followConfig, onShutdown, parse, readConfig, serviceLoggers } from './common.ts';

export const extAuthzCommand: Command = {
  async run(args) {
    const { values } = parse(args, { config: { type: 'string', short: 'c' } });
    const config = readConfig(values.config);
    const { logger, decisionLog, flush } = serviceLoggers(config, 'ext-authz');
    const service = await startExtAuthzService(config, { logger, decisionLog });
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
