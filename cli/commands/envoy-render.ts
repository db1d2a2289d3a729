import path from 'node:path';
import { renderGateway } from '../../envoy/render.ts';
import { validateEnvoyConfig } from '../../common/envoy-process.ts';
import type { Command } from './types.ts';
import { DEV_CONFIG, parse, readConfig } from './common.ts';

export const envoyRenderCommand: Command = {
  async run(args) {
    const { values } = parse(args, { config: { type: 'string', short: 'c' }, validate: { type: 'boolean' } });
    const config = readConfig(values.config, DEV_CONFIG);
    const yaml = renderGateway({
      listenAddress: config.envoy.listenAddress,
      listenPort: config.envoy.listenPort,
      adminPort: config.envoy.adminPort,
      extAuthz: { host: config.extAuthz.host === '0.0.0.0' ? '127.0.0.1' : config.extAuthz.host, port: config.extAuthz.port },
      extProc: { host: config.extProc.host === '0.0.0.0' ? '127.0.0.1' : config.extProc.host, port: config.extProc.port },
      upstream: config.envoy.upstream,
      extAuthzTimeout: config.envoy.extAuthzTimeout,
      approvalTimeout: config.envoy.approvalTimeout,
      routeTimeout: config.envoy.routeTimeout,
      routeIdleTimeout: config.envoy.routeIdleTimeout,
    }, path.resolve(config.baseDir, config.envoy.template));
    if (values.validate) validateEnvoyConfig(yaml);
    process.stdout.write(yaml);
    return 0;
  },
};
