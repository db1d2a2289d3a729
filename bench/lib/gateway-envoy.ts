import path from 'node:path';
import { parseConfig } from '../../common/config.ts';
import { startEnvoy, type RunningEnvoy } from '../../common/envoy-process.ts';
import { createLogger } from '../../common/logger.ts';
import { policyContext } from '../../ext-authz/policy-context.ts';
import { PolicyStore } from '../../ext-authz/policy/index.ts';
import { EnvoyPublisher } from '../../envoy/publisher.ts';
import { freePort } from '../../common/free-port.ts';

/**
 * An Envoy on the config Sluice generates (the same generator as `npm start` and the e2e tests),
 * for benches that measure the real gateway path: the given targets by path prefix, routes shaped
 * by the bench policies (approval holds, body checks), ext-authz and ext-proc where the bench runs them.
 */
export async function startGatewayEnvoy(opts: {
  dir: string;
  policyDir: string;
  targets: { name: string; prefix: string; port: number }[];
  extAuthzPort: number;
  extProcPort: number;
  approvalTimeout?: string;
  concurrency?: number;
}): Promise<RunningEnvoy> {
  const config = parseConfig(JSON.stringify({
    targets: opts.targets.map((t) => ({ name: t.name, endpoints: [`127.0.0.1:${t.port}`], http: { pathPrefix: t.prefix } })),
    extAuthz: { policyDir: opts.policyDir },
    envoy: { approvalTimeout: opts.approvalTimeout ?? '30s', xdsDir: path.join(opts.dir, 'envoy') },
  }), path.join(opts.dir, 'sluice-envoy.yaml'));
  const logger = createLogger('bench-envoy', { level: 'warn' });
  const policies = await PolicyStore.open(opts.policyDir, { logger, context: policyContext(config) });
  const publisher = new EnvoyPublisher({
    logger,
    services: {
      extAuthz: [{ host: '127.0.0.1', port: opts.extAuthzPort }],
      extProc: [{ host: '127.0.0.1', port: opts.extProcPort }],
      envoy: { httpPort: await freePort(), adminPort: 0 },
    },
  });
  const needs = (target: string) => policies.current().routingNeeds(target);
  const generated = await publisher.prepare(config, needs);
  const result = await publisher.publish(config, needs, generated);
  await policies.close();
  if (!result.ok) throw result.error;
  return startEnvoy({ concurrency: opts.concurrency ?? 1, config: JSON.stringify(generated.bootstrap) });
}
