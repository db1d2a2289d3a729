import { startExtAuthzService } from '../../ext-authz/service.ts';
import type { Command } from './types.ts';
import { devIssuers, drainFor, followConfig, onShutdown, parse, port, readConfig, serviceLoggers } from './common.ts';

export const extAuthzCommand: Command = {
  async run(args) {
    const { values } = parse(args, {
      config: { type: 'string', short: 'c' },
      'admin-port': { type: 'string' },
      port: { type: 'string' },
      'drain-delay': { type: 'string' },
      // Set by `sluice gateway`, which knows where browsers reach the console and where its ext-proc child listens.
      'console-url': { type: 'string' },
      'ext-proc-admin-url': { type: 'string' },
    });
    const config = readConfig(values.config);
    // Checked before anything starts: a bad flag is a usage error, not a failed drain later.
    const drain = drainFor(config.extAuthz.drain, values['drain-delay']);
    const { logger, decisionLog, flush } = serviceLoggers(config, 'ext-authz');
    const service = await startExtAuthzService(config, {
      logger,
      decisionLog,
      extraIssuers: devIssuers(config),
      ...(values['admin-port'] !== undefined ? { adminPort: port(values['admin-port'], '--admin-port') } : {}),
      ...(values.port !== undefined ? { port: port(values.port, '--port') } : {}),
      console: {
        ...(values['console-url'] ? { publicUrl: values['console-url'] } : {}),
        ...(values['ext-proc-admin-url'] ? { extProcAdminUrl: values['ext-proc-admin-url'] } : {}),
      },
    });
    // sluice.yaml is watched: its targets and masking defaults are what policies are checked against.
    const store = followConfig(config, logger, [service.configSubscriber], service.policies);
    onShutdown(logger, async () => {
      await store.close();
      await service.close({ drain });
      flush();
    });
    return -1;
  },
};
