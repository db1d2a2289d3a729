import path from 'node:path';
import { DevIssuer } from '../../dev/dev-issuer.ts';
import { DemoUpstream } from '../../dev/demo-upstream.ts';
import { resolveEnvoyBinary } from '../../common/envoy-bin.ts';
import { createLogger } from '../../common/logger.ts';
import type { SluiceConfig } from '../../common/config.ts';
import { startGateway, type RunningGateway } from '../../gateway/run-gateway.ts';
import type { Command } from './types.ts';
import { DEV_CONFIG, parse, readConfig } from './common.ts';

/**
 * `sluice gateway --config sluice.yaml`: the whole gateway as one supervised unit (see
 * gateway/run-gateway.ts). With `dev.enabled: true` it also runs the DEVELOPMENT issuer and the
 * demo upstream in this process; `sluice dev` / `npm start` is this with the embedded dev config.
 */
export const gatewayCommand: Command = {
  async run(args) {
    const { values } = parse(args, { config: { type: 'string', short: 'c' } });
    return runGateway(readConfig(values.config));
  },
};

export const devCommand: Command = {
  async run(args) {
    const { values } = parse(args, { config: { type: 'string', short: 'c' } });
    const config = readConfig(values.config, DEV_CONFIG);
    if (!config.dev.enabled) throw new Error('this config does not enable dev mode (dev.enabled: true); use `sluice gateway --config ...` in production');
    return runGateway(config);
  },
};

async function runGateway(config: SluiceConfig): Promise<number> {
  const logger = createLogger('sluice-gateway', { level: config.log.level });
  const binary = resolveEnvoyBinary();
  logger.info({ envoy: binary.path, version: binary.version, source: binary.source }, 'using envoy');
  const dev = config.dev.enabled
    ? {
        issuer: await DevIssuer.start({ port: config.dev.issuerPort, audience: config.dev.audience }),
        upstream: await DemoUpstream.start(config.dev.upstreamPort),
      }
    : undefined;
  let gateway: RunningGateway;
  try {
    gateway = await startGateway({ config, logger, binary });
  } catch (err) {
    await dev?.upstream.close();
    await dev?.issuer.close();
    throw err;
  }

  let stopping = false;
  const stop = (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'shutting down');
    void gateway
      .stop(reason)
      .then(async () => {
        await dev?.upstream.close();
        await dev?.issuer.close();
      })
      .finally(() => process.exit(code));
  };
  process.once('SIGTERM', () => stop('SIGTERM', 0));
  process.once('SIGINT', () => stop('SIGINT', 0));
  process.stderr.write(banner(config, gateway, binary.version, dev?.issuer.url));
  return -1;
}

function targetLine(config: SluiceConfig): (target: SluiceConfig['targets'][number]) => string {
  return (t) => t.protocol === 'postgres' && t.postgres
    ? `${t.name} postgres://${config.envoy.listenAddress}:${t.postgres.port}`
    : t.protocol === 'redis' && t.redis
      ? `${t.name} redis://${config.envoy.listenAddress}:${t.redis.port}`
      : `${t.name} ${t.http.hosts.join(',') || '*'}${t.http.pathPrefix}`;
}

function banner(config: SluiceConfig, gateway: RunningGateway, envoyVersion: string, devIssuer: string | undefined): string {
  const envoy = gateway.envoy();
  const url = `http://127.0.0.1:${envoy?.listeners.http ?? config.envoy.listenPort}`;
  const admin = `http://${config.admin.host}:${gateway.adminPort}`;
  const lines = [
    '',
    devIssuer
      ? 'Sluice gateway is up (DEVELOPMENT issuer enabled — never use this config in production).'
      : 'Sluice gateway is up.',
    `  gateway    ${url}   (Envoy ${envoyVersion}; Envoy admin ${envoy?.adminUrl ?? '-'}, /stats/prometheus)`,
    `  admin      ${admin}   /healthz /readyz /metrics /status, the approvals API`,
    `  ext-authz  gRPC ${config.extAuthz.host}:${config.extAuthz.port}   (own admin ${gateway.childAdmin.extAuthz}); policies: ${path.resolve(config.baseDir, config.extAuthz.policyDir)}`,
    `  ext-proc   gRPC ${config.extProc.host}:${config.extProc.port}   (own admin ${gateway.childAdmin.extProc}); secrets: ${config.extProc.secretsFile ? path.resolve(config.baseDir, config.extProc.secretsFile) : '(environment only)'}`,
    `  targets    ${config.targets.map(targetLine(config)).join(', ') || '(none)'}`,
    `             declared in ${config.file}; edits reach Envoy live (config in ${gateway.xdsDir})`,
  ];
  if (devIssuer) {
    lines.push(
      `  dev issuer ${devIssuer}`,
      `  demo       http://127.0.0.1:${config.dev.upstreamPort} (the demo upstream behind the targets)`,
      '',
      'Try it:',
      '  TOKEN=$(npm run --silent sluice -- token --sub alice --groups engineering)',
      `  curl -i -H "Authorization: Bearer $TOKEN" ${url}/api/hello`,
      `  curl -i ${url}/api/hello            # 401: no token`,
    );
    const db = config.targets.find((t) => t.protocol === 'postgres');
    if (db?.postgres) {
      lines.push(`  psql "host=127.0.0.1 port=${db.postgres.port} user=postgres dbname=test password=$TOKEN" -c 'select 1'`);
    }
    const cache = config.targets.find((t) => t.protocol === 'redis');
    if (cache?.redis) {
      lines.push(`  redis-cli -p ${cache.redis.port} --no-auth-warning -a "$TOKEN" SET demo:hello world     # CONFIG GET * is refused`);
    }
  }
  lines.push(`Stop with Ctrl-C or SIGTERM: in-flight requests get up to ${config.gateway.drainTimeout} to finish.`, '');
  return lines.join('\n');
}
