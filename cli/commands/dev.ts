import path from 'node:path';
import { DevIssuer } from '../../dev/dev-issuer.ts';
import { DemoUpstream } from '../../dev/demo-upstream.ts';
import { startExtAuthzService } from '../../ext-authz/service.ts';
import { startExtProcService } from '../../ext-proc/service.ts';
import { startEnvoy } from '../../common/envoy-process.ts';
import { resolveEnvoyBinary } from '../../common/envoy-bin.ts';
import { ConfigStore } from '../../common/config.ts';
import { startGeneratedEnvoy } from '../../envoy/run.ts';
import { reachable } from '../../envoy/from-config.ts';
import type { Command } from './types.ts';
import { DEV_CONFIG, onShutdown, parse, readConfig, serviceLoggers } from './common.ts';

/**
 * The embedded default behind `npm start`: the DEVELOPMENT issuer, a demo upstream, ext-authz,
 * ext-proc and a real Envoy whose whole config is generated from sluice.yaml and the policies,
 * all on loopback. Edits to either reach Envoy live. Refuses to run unless the config says
 * `dev.enabled: true`.
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
    const configStore = new ConfigStore(config, logger);
    configStore.subscribe(authz.configSubscriber);
    configStore.subscribe(proc.configSubscriber);
    const gateway = await startGeneratedEnvoy({
      configStore,
      policies: authz.policies,
      services: { extAuthz: [reachable(config.extAuthz.host, authz.port)], extProc: [reachable(config.extProc.host, proc.port)] },
      logger,
      start: (bootstrap) => startEnvoy({ binary, config: bootstrap }),
    });
    configStore.watch();
    const { envoy } = gateway;

    let stopping = false;
    const stopAll = async () => {
      stopping = true;
      await configStore.close();
      await gateway.stop();
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

    const url = `http://127.0.0.1:${envoy.listeners.http}`;
    process.stderr.write([
      '',
      `Sluice dev gateway is up (DEVELOPMENT issuer enabled — never use this config in production).`,
      `  gateway   ${url}        (Envoy ${binary.version}, admin ${envoy.adminUrl})`,
      `  targets   ${config.targets.map((t) => `${t.name} ${t.http.hosts.join(',') || '*'}${t.http.pathPrefix}`).join(', ')}`,
      `            declared in ${config.file}; edits reach Envoy live (config in ${gateway.xdsDir})`,
      `  ext-authz 127.0.0.1:${authz.port}   policies: ${path.resolve(config.baseDir, config.extAuthz.policyDir)}`,
      `  admin     http://127.0.0.1:${authz.adminPort}   (ext-authz: /healthz, /readyz, /approvals)`,
      `  ext-proc  127.0.0.1:${proc.port}   secrets: ${config.extProc.secretsFile ? path.resolve(config.baseDir, config.extProc.secretsFile) : '(environment only)'}`,
      `  issuer    ${issuer.url}`,
      '',
      'Try it:',
      `  TOKEN=$(npm run --silent sluice -- token --sub alice --groups engineering)`,
      `  curl -i -H "Authorization: Bearer $TOKEN" ${url}/api/hello`,
      `  curl -i ${url}/api/hello            # 401: no token`,
      '',
    ].join('\n'));
    return -1;
  },
};
