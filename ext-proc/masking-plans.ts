import type { SluiceConfig } from '../common/config.ts';
import { SluiceError } from '../common/errors.ts';
import { compileProfile, type MaskingProfile } from './masking/index.ts';
import type { SecretStore } from './secrets/types.ts';

/**
 * Compiles every masking profile once, at startup, and maps each target to its profile. A target
 * naming an unknown profile, or a bad profile, stops the service from starting: a typo must never
 * turn masking off.
 */
export function compileMaskingPlans(masking: SluiceConfig['extProc']['masking'], secrets: SecretStore): ReadonlyMap<string, MaskingProfile> {
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
  return byTarget;
}
