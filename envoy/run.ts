import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ConfigStore, SluiceConfig } from '../common/config.ts';
import { describeError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { PolicyStore } from '../ext-authz/policy/index.ts';
import type { GeneratedConfig } from './generate/index.ts';
import { generatorInput, type ServiceAddresses } from './from-config.ts';
import { EnvoyPublisher, type PreparedConfig, type PublishResult } from './publisher.ts';
import { RedisUpstreamLogins } from './redis-upstream/logins.ts';
import { openGatewaySecrets } from './redis-upstream/secrets.ts';

export interface RunningEnvoyHandle {
  adminUrl: string;
  stop(): Promise<void>;
}

export interface GeneratedEnvoyOptions<T extends RunningEnvoyHandle> {
  configStore: ConfigStore;
  /** The live policies: their routing needs shape the routes, and a reload republishes. */
  policies: PolicyStore;
  services: ServiceAddresses;
  logger: Logger;
  /** Told how every publish ended. */
  onPublish?: (result: PublishResult) => void;
  /** Where redis targets' upstream secrets are read (SLUICE_SECRET_*); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Starts Envoy on the generated bootstrap (a local binary, a container, ...). */
  start(bootstrap: string, generated: GeneratedConfig): Promise<T>;
}

export interface GeneratedEnvoy<T extends RunningEnvoyHandle> {
  envoy: T;
  publisher: EnvoyPublisher;
  xdsDir: string;
  stop(): Promise<void>;
}

/**
 * Runs an Envoy whose whole config Sluice generates: the first config is validated and written
 * before Envoy starts on its bootstrap; afterwards a change of sluice.yaml (targets, timeouts,
 * TLS) or of the policies (an approve rule, a body guardrail) is generated, validated and written
 * to the watched directory, which Envoy picks up without a restart. A change that would not
 * validate is refused and the last good config keeps serving.
 */
export async function startGeneratedEnvoy<T extends RunningEnvoyHandle>(options: GeneratedEnvoyOptions<T>): Promise<GeneratedEnvoy<T>> {
  const { configStore, policies, logger } = options;
  let envoy: T | undefined;
  const needs = (target: string) => policies.current().routingNeeds(target);
  const config = configStore.current();
  const xdsDir = generatorInput(config, needs, options.services).xdsDir;
  mkdirSync(xdsDir, { recursive: true });
  // Redis targets' upstream logins: Envoy presents them, so their secrets are read here.
  const secrets = openGatewaySecrets(config, logger, options.env);
  const upstream = new RedisUpstreamLogins({ dir: path.join(xdsDir, 'secrets'), secrets, logger });
  // Read at each publish: a supervised Envoy that was restarted may answer on a new admin port.
  const publisher = new EnvoyPublisher({ logger, services: options.services, upstream, envoyAdminUrl: () => envoy?.adminUrl, ...(options.onPublish ? { onResult: options.onPublish } : {}) });

  let first: PreparedConfig;
  try {
    first = await publisher.prepare(config, needs);
    const published = await publisher.publish(config, needs, first);
    if (!published.ok) throw published.error;
  } catch (err) {
    await secrets.close();
    throw err;
  }
  const started = await options.start(JSON.stringify(first.bootstrap), first);
  envoy = started;
  // A rotated secret is a new login file and a changed cluster: Envoy's new upstream connections
  // log in with it, no restart.
  const offSecrets = secrets.onChange(() => void publisher.publish(configStore.current(), needs));

  // Policies may change what a route needs; republish with the live config (a no-op write when
  // nothing Envoy sees changed).
  const offPolicies = policies.onReload((result) => {
    if (!result.ok) return;
    void publisher.publish(configStore.current(), needs);
    // A sluice.yaml edit refused because policies still named what it drops may apply now.
    void configStore.retryRefused();
  });
  let prepared: { config: SluiceConfig; generated: PreparedConfig } | undefined;
  configStore.subscribe({
    name: 'envoy config',
    check: async (next) => {
      try {
        prepared = { config: next, generated: await publisher.prepare(next, needs) };
        return { ok: true };
      } catch (err) {
        return { ok: false, reason: describeError(err).message };
      }
    },
    apply: async (next) => {
      const result = await publisher.publish(next, needs, prepared?.config === next ? prepared.generated : undefined);
      prepared = undefined;
      return result.ok ? { ok: true } : { ok: false, reason: result.error.message };
    },
  });
  logger.info({ xdsDir: path.resolve(xdsDir), targets: config.targets.map((t) => t.name), admin: started.adminUrl }, 'envoy running on the generated config');
  return {
    envoy: started,
    publisher,
    xdsDir,
    stop: async () => {
      offPolicies();
      offSecrets();
      await secrets.close();
      await started.stop();
    },
  };
}
