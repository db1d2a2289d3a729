import { configPosition, type SluiceConfig } from '../common/config.ts';
import { describeError, isSluiceError, SluiceError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { RoutingNeeds } from '../ext-authz/policy/index.ts';
import { applyXds, generateEnvoyConfig, validateGenerated, writeBootstrap, type GeneratedConfig } from './generate/index.ts';
import { generatorInput, type ServiceAddresses } from './from-config.ts';

export interface PublisherOptions {
  logger: Logger;
  services: ServiceAddresses;
  /** Envoy's admin URL, when Sluice runs that Envoy: new clusters are awaited before routes name them. */
  envoyAdminUrl?: () => string | undefined;
  /** Skip `envoy --mode validate` (tests of the publisher itself). */
  validate?: boolean;
  /** Told how every publish ended (metrics). */
  onResult?: (result: PublishResult) => void;
}

export type PublishResult = { ok: true; written: string[]; ms: number } | { ok: false; error: SluiceError };

/**
 * Turns sluice.yaml + the live policies into Envoy's config and delivers it: generate, validate
 * with the real binary, then write the watched files atomically. A config Envoy would reject is
 * never written, its error names the sluice.yaml line of the target at fault, and the last good
 * config stays live in Envoy.
 */
export class EnvoyPublisher {
  #last: GeneratedConfig | undefined;
  #lastResult: PublishResult | undefined;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: PublisherOptions) {}

  /** The last config that went live (for the bootstrap a runner starts Envoy with). */
  get current(): GeneratedConfig | undefined {
    return this.#last;
  }

  /** How the latest publish ended (undefined before the first). */
  get lastResult(): PublishResult | undefined {
    return this.#lastResult;
  }

  /** Generates and validates without writing: what a reload would publish, or why it cannot. */
  prepare(config: SluiceConfig, routingNeeds: (target: string) => RoutingNeeds): GeneratedConfig {
    return this.#validate(this.#generate(config, routingNeeds), config);
  }

  #generate(config: SluiceConfig, routingNeeds: (target: string) => RoutingNeeds): GeneratedConfig {
    try {
      return generateEnvoyConfig(generatorInput(config, routingNeeds, this.options.services));
    } catch (err) {
      throw located(err, config);
    }
  }

  #validate(generated: GeneratedConfig, config: SluiceConfig): GeneratedConfig {
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
  publish(config: SluiceConfig, routingNeeds: (target: string) => RoutingNeeds, prepared?: GeneratedConfig): Promise<PublishResult> {
    const run = this.#tail.then(() => this.#publish(config, routingNeeds, prepared)).then((result) => {
      this.#lastResult = result;
      this.options.onResult?.(result);
      return result;
    });
    this.#tail = run;
    return run;
  }

  async #publish(config: SluiceConfig, routingNeeds: (target: string) => RoutingNeeds, prepared: GeneratedConfig | undefined): Promise<PublishResult> {
    const started = performance.now();
    try {
      let generated = prepared;
      if (generated === undefined) {
        // Most policy reloads change nothing Envoy sees: skip validating (an Envoy process) and
        // writing when the resources are what is already live.
        const candidate = this.#generate(config, routingNeeds);
        if (this.#last !== undefined && JSON.stringify(candidate.files) === JSON.stringify(this.#last.files)) {
          return { ok: true, written: [], ms: performance.now() - started };
        }
        generated = this.#validate(candidate, config);
      }
      const adminUrl = this.options.envoyAdminUrl?.();
      const { written } = await applyXds(generatorInput(config, routingNeeds, this.options.services).xdsDir, generated, adminUrl ? { envoyAdminUrl: adminUrl } : {});
      this.#last = generated;
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
