import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigStore } from '../../common/config.ts';
import { createLogger } from '../../common/logger.ts';
import { PolicyStore } from '../../ext-authz/policy/index.ts';
import { policyContext } from '../../ext-authz/policy-context.ts';
import { EnvoyPublisher } from '../../envoy/publisher.ts';
import { staticEquivalent } from '../../envoy/generate/index.ts';
import { generatorInput, serviceEndpoints } from '../../envoy/from-config.ts';
import { RedisUpstreamLogins } from '../../envoy/redis-upstream/logins.ts';
import { openGatewaySecrets } from '../../envoy/redis-upstream/secrets.ts';
import type { Command } from './types.ts';
import { HELP } from './help.ts';
import { DEV_CONFIG, onShutdown, parse, readConfig } from './common.ts';


export const envoyRenderCommand: Command = {
  async run(args) {
    const { values } = parse(args, {
      config: { type: 'string', short: 'c' }, out: { type: 'string' }, watch: { type: 'boolean' },
      'no-validate': { type: 'boolean' }, validate: { type: 'boolean' },
    });
    if (values.watch && !values.out) {
      process.stderr.write(`sluice envoy render: --watch needs --out DIR\n\n${HELP['envoy render']}\n`);
      return 2;
    }
    const config = readConfig(values.config, DEV_CONFIG);
    const logger = createLogger('envoy-render', { level: values.watch ? config.log.level : 'warn' });
    const policies = await PolicyStore.open(path.resolve(config.baseDir, config.extAuthz.policyDir), { logger, context: policyContext(config) });
    const xdsDir = values.out ? path.resolve(values.out) : undefined;
    // Redis targets' upstream logins are files beside the xDS files (mode 0600), never inline.
    const secrets = openGatewaySecrets(config, logger);
    const loginDir = path.join(xdsDir ?? generatorInput(config, () => ({ mayHold: false, inspectsBody: false }), { extAuthz: [], extProc: [] }).xdsDir, 'secrets');
    const publisher = new EnvoyPublisher({
      logger,
      upstream: new RedisUpstreamLogins({ dir: loginDir, secrets, logger }),
      validate: !values['no-validate'],
      services: {
        ...serviceEndpoints(config),
        ...(xdsDir ? { xdsDir } : {}),
      },
    });
    const needs = (target: string) => policies.current().routingNeeds(target);
    const generated = await publisher.prepare(config, needs);
    if (!xdsDir) {
      process.stdout.write(`${JSON.stringify(staticEquivalent(generated), null, 2)}\n`);
      await policies.close();
      await secrets.close();
      return 0;
    }
    mkdirSync(xdsDir, { recursive: true });
    await publisher.writeBootstrap(path.join(xdsDir, 'bootstrap.json'), generated);
    const result = await publisher.publish(config, needs, generated);
    if (!result.ok) throw result.error;
    process.stderr.write(`wrote ${path.join(xdsDir, 'bootstrap.json')} and ${['cds.json', 'rds.json', 'lds.json'].join(', ')} (${config.targets.length} targets)\n`);
    if (!values.watch) {
      await policies.close();
      await secrets.close();
      return 0;
    }
    const store = new ConfigStore(config, logger);
    store.subscribe({ name: 'policies', apply: async (next) => {
      const r = await policies.setContext(policyContext(next));
      return r.ok ? { ok: true } : { ok: false, reason: r.error.message };
    } });
    store.subscribe({ name: 'envoy config', apply: async (next) => {
      const r = await publisher.publish(next, needs);
      return r.ok ? { ok: true } : { ok: false, reason: r.error.message };
    } });
    policies.onReload((r) => void (r.ok && publisher.publish(store.current(), needs)));
    secrets.onChange(() => void publisher.publish(store.current(), needs));
    policies.watch();
    store.watch();
    onShutdown(logger, async () => {
      await store.close();
      await policies.close();
      await secrets.close();
    });
    return -1;
  },
};
