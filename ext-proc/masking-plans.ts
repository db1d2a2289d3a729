import type { SluiceConfig } from '../common/config.ts';
import { SluiceError } from '../common/errors.ts';
import type { GatewayDecision } from '../common/decision-metadata.ts';
import { compileProfile, type MaskingProfile } from './masking/index.ts';
import type { SecretStore } from './secrets/types.ts';

export type ProfileChoice = { ok: true; profile: MaskingProfile | undefined } | { ok: false; missing: string };

/**
 * The compiled masking profiles and how an exchange picks one: exactly the profile ext-authz's
 * decision names (a rule's `masking`, else the operator's default for the target, decided once
 * in ext-authz), or none when it names none. A name ext-proc lacks refuses the exchange.
 */
export class MaskingPlans {
  constructor(readonly profiles: ReadonlyMap<string, MaskingProfile>) {}

  forExchange(decision: Pick<GatewayDecision, 'masking'>): ProfileChoice {
    if (decision.masking === null) return { ok: true, profile: undefined };
    const profile = this.profiles.get(decision.masking);
    return profile ? { ok: true, profile } : { ok: false, missing: decision.masking };
  }
}

/**
 * Compiles every masking profile once, at startup and on each config reload. A bad profile stops
 * the service from starting (or the reload from applying): a typo must never turn masking off.
 */
export function compileMaskingPlans(masking: SluiceConfig['extProc']['masking'], secrets: SecretStore): MaskingPlans {
  const hashKey = masking.hashKeySecret ? secrets.get(masking.hashKeySecret) : undefined;
  if (masking.hashKeySecret && hashKey === undefined) {
    throw new SluiceError('ERR_CONFIG_INVALID', `extProc.masking.hashKeySecret: secret "${masking.hashKeySecret}" is in no secret store`);
  }
  const profiles = new Map<string, MaskingProfile>();
  for (const spec of masking.profiles) {
    const profile = compileProfile(spec, hashKey ? { hashKey: Buffer.from(hashKey, 'utf8') } : {});
    if (profiles.has(profile.name)) throw new SluiceError('ERR_CONFIG_INVALID', `extProc.masking.profiles: "${profile.name}" is defined twice`);
    profiles.set(profile.name, profile);
  }
  return new MaskingPlans(profiles);
}
