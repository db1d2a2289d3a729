import { startExtProcService } from '../../ext-proc/service.ts';
import type { Command } from './types.ts';
import { followConfig, onShutdown, parse, port, readConfig } from './common.ts';
import { createLogger } from '../../common/logger.ts';

export const extProcCommand: Command = {
  async run(args) {
    const { values } = parse(args, { config: { type: 'string', short: 'c' }, 'admin-port': { type: 'string' } });
    const config = readConfig(values.config);
    const logger = createLogger('ext-proc', { level: config.log.level });
    // The admin server (/healthz, /readyz, /metrics) is how Envoy's operator and a supervisor see it.
    const adminPort = values['admin-port'] !== undefined ? port(values['admin-port'], '--admin-port') : config.extProc.adminPort;
    const service = await startExtProcService(config, { logger, adminPort });
    // sluice.yaml is watched: credentials and masking profiles are recompiled and swapped.
    const store = followConfig(config, logger, [service.configSubscriber]);
    onShutdown(logger, async () => {
      await store.close();
      await service.close();
    });
    return -1;
  },
};
