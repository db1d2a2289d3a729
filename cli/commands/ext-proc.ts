import { startExtProcService } from '../../ext-proc/service.ts';
import type { Command } from './types.ts';
import { onShutdown, parse, readConfig } from './common.ts';
import { createLogger } from '../../common/logger.ts';

export const extProcCommand: Command = {
  async run(args) {
    const { values } = parse(args, { config: { type: 'string', short: 'c' } });
    const config = readConfig(values.config);
    const logger = createLogger('ext-proc', { level: config.log.level });
    const service = await startExtProcService(config, { logger });
    onShutdown(logger, () => service.close());
    return -1;
  },
};
