import { configPosition, type SluiceConfig } from '../common/config.ts';
import { describeError, isSluiceError, SluiceError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { RoutingNeeds } from '../ext-authz/policy/index.ts';
import { applyXds, generateEnvoyConfig, validateGenerated, writeBootstrap, type GeneratedConfig } from './generate/index.ts';
import { generatorInput, type ServiceAddresses } from './from-config.ts';
import type { RedisUpstreamLogins, UpstreamLogins } from './redis-upstream/logins.ts';

export interface PublisherOptions {
  logger: Logger;
  services: ServiceAddresses;
  /** Envoy's admin URL, when Sluice runs that Envoy: new clusters are awaited before routes name them. */
  envoyAdminUrl?: () => string | undefined;
  /** Skip `envoy --mode validate` (tests of the publisher itself). */
  validate?: boolean;
  /** Told how every publish ended (metrics). */
  onResult?: (result: PublishResult) => void;
  /** Redis targets' upstream logins (files from the secret stores, checked); without it they log in with no password. */
  upstream?: RedisUpstreamLogins;
}

/** A generated config and the upstream login files it names. */
export interface PreparedConfig extends GeneratedConfig {
  logins: UpstreamLogins;
}

export type PublishResult = { ok: true; written: string[]; ms: number } | { ok: false; error: SluiceError };

/**
 * Turns sluice.yaml + the live policies into Envoy's config and delivers it: generate, validate
 * with the real binary, then write the watched files atomically. A config Envoy would reject is
 * never written, its error names the sluice.yaml line of the target at fault, and the last good
 * config stays live in Envoy.
 */
export class EnvoyPublisher {
  #last: PreparedConfig | undefined;
  #lastResult: PublishResult | undefined;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: PublisherOptions) {}

  /** The last config that went live (for the bootstrap a runner starts Envoy with). */
  get current(): PreparedConfig | undefined {
    return this.#last;
  }

  /** How the latest publish ended (undefined before the first). */
  get lastResult(): PublishResult | undefined {
    return this.#lastResult;
  }

  /** Generates and validates without writing: what a reload would publish, or why it cannot. */
  async prepare(config: SluiceConfig, routingNeeds: (target: string) => RoutingNeeds): Promise<PreparedConfig> {
    return this.#validate(await this.#generate(config, routingNeeds), config);
  }

  async #generate(config: SluiceConfig, routingNeeds: (target: string) => RoutingNeeds): Promise<PreparedConfig> {
    try {
      // Redis upstream logins first: their files must exist when Envoy validates the config.
      const logins = (await this.options.upstream?.prepare(config)) ?? new Map();
      return { ...generateEnvoyConfig(generatorInput(config, routingNeeds, this.options.services, logins)), logins };
    } catch (err) {
      throw located(err, config);
    }
  }

  #validate<T extends GeneratedConfig>(generated: T, config: SluiceConfig): T {
    try {
      if (this.options.validate !== false) validateGenerated(generated);
    } catch (err) {
      throw located(err, config);
    }
    return generated;
  }

  /** Writes the bootstrap Envoy is started with (the dynamic resources it points at come from publish). */
  async writeBootstrap(file: string, generated: GeneratedConfig): Promise<void> {
    await writeBootstrap(file, generated);
  }

  /**
   * Publishes one config (`prepared`: what prepare() already built and validated for it); calls
   * run one at a time, in order. Never rejects.
   */
  publish(config: SluiceConfig, routingNeeds: (target: string) => RoutingNeeds, prepared?: PreparedConfig): Promise<PublishResult> {
    const run = this.#tail.then(() => this.#publish(config, routingNeeds, prepared)).then((result) => {
      this.#lastResult = result;
      this.options.onResult?.(result);
      return result;
    });
    this.#tail = run;
    return run;
  }

  async #publish(config: SluiceConfig, routingNeeds: (target: string) => RoutingNeeds, prepared: PreparedConfig | undefined): Promise<PublishResult> {
    const started = performance.now();
    try {
      let generated = prepared;
      if (generated === undefined) {
        // Most policy reloads change nothing Envoy sees: skip validating (an Envoy process) and
        // writing when the resources are what is already live.
        const candidate = await this.#generate(config, routingNeeds);
        if (this.#last !== undefined && JSON.stringify(candidate.files) === JSON.stringify(this.#last.files)) {
          return { ok: true, written: [], ms: performance.now() - started };
        }
        generated = this.#validate(candidate, config);
      }
      const adminUrl = this.options.envoyAdminUrl?.();
      const { written } = await applyXds(generatorInput(config, routingNeeds, this.options.services).xdsDir, generated, adminUrl ? { envoyAdminUrl: adminUrl } : {});
      this.#last = generated;
      // Login files of earlier configs (a rotated password) are no longer named by what Envoy runs.
      await this.options.upstream?.prune(generated.logins);
      const ms = performance.now() - started;
      if (written.length > 0) this.options.logger.info({ written, targets: config.targets.length, ms: Math.round(ms) }, 'envoy config published');
      return { ok: true, written, ms };
    } catch (err) {
      const error = isSluiceError(err) ? err : new SluiceError('ERR_INTERNAL', describeError(err).message, { cause: err });
      this.options.logger.error({ code: error.code, err: error.message }, 'envoy config not published; the last good config stays live');
      return { ok: false, error };
    }
  }
}

/** Points Envoy's complaint (or the generator's) at the sluice.yaml line of the target it names. */
function located(err: unknown, config: SluiceConfig): unknown {
  if (!isSluiceError(err)) return err;
  const target = typeof err.details.target === 'string' ? err.details.target : undefined;
  const index = target === undefined ? -1 : config.targets.findIndex((t) => t.name === target);
  const where = index === -1 ? configPosition(config, '/targets') : configPosition(config, `/targets/${index}`);
  return new SluiceError(err.code, `${where}: ${target !== undefined ? `target "${target}": ` : ''}${err.message}`, { cause: err, details: { ...err.details, where } });
}
