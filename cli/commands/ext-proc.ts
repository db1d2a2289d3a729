import { startExtProcService } from '../../ext-proc/service.ts';
import type { Command } from './types.ts';
import { followConfig, onShutdown, parse, readConfig } from './common.ts';
import { createLogger } from '../../common/logger.ts';

export const extProcCommand: Command = {
  async run(args) {
    const { values } = parse(args, { config: { type: 'string', short: 'c' } });
    const config = readConfig(values.config);
    const logger = createLogger('ext-proc', { level: config.log.level });
    const service = await startExtProcService(config, { logger });
    // sluice.yaml is watched: credentials and masking profiles are recompiled and swapped.
    const store = followConfig(config, logger, [service.configSubscriber]);
    onShutdown(logger, async () => {
      await store.close();
      await service.close();
    });
    return -1;
  },
};
