import type { SluiceConfig } from '../common/config.ts';
import { SluiceError } from '../common/errors.ts';
import type { GatewayDecision } from '../common/decision-metadata.ts';
import { compileProfile, type MaskingProfile } from './masking/index.ts';
import type { SecretStore } from './secrets/types.ts';

export type ProfileChoice = { ok: true; profile: MaskingProfile | undefined } | { ok: false; missing: string };

/**
 * The compiled masking profiles and how an exchange picks one: the profile its policy named (a
 * rule's `masking`, else its target declaration's, carried in ext-authz's decision), else the
 * operator's default for the target (`extProc.masking.targets`), else none.
 */
export class MaskingPlans {
  constructor(
    readonly profiles: ReadonlyMap<string, MaskingProfile>,
    readonly byTarget: ReadonlyMap<string, MaskingProfile>,
  ) {}

  forExchange(decision: Pick<GatewayDecision, 'target' | 'masking'>): ProfileChoice {
    if (decision.masking === null) return { ok: true, profile: this.byTarget.get(decision.target) };
    const profile = this.profiles.get(decision.masking);
    return profile ? { ok: true, profile } : { ok: false, missing: decision.masking };
  }
}

/**
 * Compiles every masking profile once, at startup, and maps each target to its default profile.
 * A target naming an unknown profile, or a bad profile, stops the service from starting: a typo
 * must never turn masking off.
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
  const byTarget = new Map<string, MaskingProfile>();
  for (const [target, name] of Object.entries(masking.targets)) {
    const profile = profiles.get(name);
    if (!profile) throw new SluiceError('ERR_CONFIG_INVALID', `extProc.masking.targets.${target}: no masking profile named "${name}"`);
    byTarget.set(target, profile);
  }
  return new MaskingPlans(profiles, byTarget);
}
