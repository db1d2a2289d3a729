import path from 'node:path';
import { DevIssuer } from '../../dev/dev-issuer.ts';
import { DemoUpstream } from '../../dev/demo-upstream.ts';
import { startExtAuthzService } from '../../ext-authz/service.ts';
import { startExtProcService } from '../../ext-proc/service.ts';
import { renderGateway } from '../../envoy/render.ts';
import { startEnvoy } from '../../common/envoy-process.ts';
import { resolveEnvoyBinary } from '../../common/envoy-bin.ts';
import type { Command } from './types.ts';
import { DEV_CONFIG, onShutdown, parse, readConfig, serviceLoggers } from './common.ts';

/**
 * The embedded default behind `npm start`: the DEVELOPMENT issuer, a demo upstream, ext-authz and
 * a real Envoy, all on loopback. Refuses to run unless the config says `dev.enabled: true`.
 */
export const devCommand: Command = {
  async run(args) {
    const { values } = parse(args, { config: { type: 'string', short: 'c' } });
    const config = readConfig(values.config, DEV_CONFIG);
    if (!config.dev.enabled) throw new Error('this config does not enable dev mode (dev.enabled: true); use `sluice ext-authz` in production');
    const { logger, decisionLog, flush } = serviceLoggers(config, 'sluice-dev');

    const binary = resolveEnvoyBinary();
    logger.info({ envoy: binary.path, version: binary.version, source: binary.source }, 'using envoy');
    const issuer = await DevIssuer.start({ port: config.dev.issuerPort, audience: config.dev.audience });
    const upstream = await DemoUpstream.start(config.dev.upstreamPort);
    const authz = await startExtAuthzService(config, {
      logger,
      decisionLog,
      extraIssuers: [{ name: 'dev', issuer: issuer.url, audiences: [config.dev.audience] }],
    });
    const proc = await startExtProcService(config, { logger });
    const envoy = await startEnvoy({
      binary,
      config: renderGateway({
        listenAddress: config.envoy.listenAddress,
        listenPort: config.envoy.listenPort,
        adminPort: config.envoy.adminPort,
        extAuthz: { host: '127.0.0.1', port: authz.port },
        extProc: { host: '127.0.0.1', port: proc.port },
        upstream: { host: '127.0.0.1', port: upstream.address.port },
        extAuthzTimeout: config.envoy.extAuthzTimeout,
        approvalTimeout: config.envoy.approvalTimeout,
        routeTimeout: config.envoy.routeTimeout,
        routeIdleTimeout: config.envoy.routeIdleTimeout,
      }, path.resolve(config.baseDir, config.envoy.template)),
    });

    let stopping = false;
    const stopAll = async () => {
      stopping = true;
      await envoy.stop();
      await authz.close();
      await proc.close();
      await upstream.close();
      await issuer.close();
      flush();
    };
    onShutdown(logger, stopAll);
    envoy.exited.then((code) => {
      // Our own shutdown stops Envoy too; only an exit nobody asked for is an error.
      if (stopping) return;
      logger.error({ code, log: envoy.logFile }, 'envoy exited; stopping');
      stopAll().finally(() => process.exit(1));
    });

    const gateway = `http://127.0.0.1:${envoy.listeners.http}`;
    process.stderr.write([
      '',
      `Sluice dev gateway is up (DEVELOPMENT issuer enabled — never use this config in production).`,
      `  gateway   ${gateway}        (Envoy ${binary.version}, admin ${envoy.adminUrl})`,
      `  ext-authz 127.0.0.1:${authz.port}   policies: ${path.resolve(config.baseDir, config.extAuthz.policyDir)}`,
      `  admin     http://127.0.0.1:${authz.adminPort}   (ext-authz: /healthz, /readyz, /approvals)`,
      `  ext-proc  127.0.0.1:${proc.port}   secrets: ${config.extProc.secretsFile ? path.resolve(config.baseDir, config.extProc.secretsFile) : '(environment only)'}`,
      `  issuer    ${issuer.url}`,
      '',
      'Try it:',
      `  TOKEN=$(npm run --silent sluice -- token --sub alice --groups engineering)`,
      `  curl -i -H "Authorization: Bearer $TOKEN" ${gateway}/api/hello`,
      `  curl -i ${gateway}/api/hello            # 401: no token`,
      '',
    ].join('\n'));
    return -1;
  },
};
