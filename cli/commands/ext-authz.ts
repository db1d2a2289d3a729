import { startExtAuthzService } from '../../ext-authz/service.ts';
import type { Command } from './types.ts';
import { onShutdown, parse, readConfig, serviceLoggers } from './common.ts';

export const extAuthzCommand: Command = {
  async run(args) {
    const { values } = parse(args, { config: { type: 'string', short: 'c' } });
    const config = readConfig(values.config);
    const { logger, decisionLog, flush } = serviceLoggers(config, 'ext-authz');
    const service = await startExtAuthzService(config, { logger, decisionLog });
    onShutdown(logger, async () => {
      await service.close();
      flush();
    });
    return -1;
  },
};
