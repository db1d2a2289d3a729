import type { SluiceConfig } from '../common/config.ts';
import type { PolicyContext, TargetFacts } from './policy/index.ts';

/**
 * What policies are checked against, from sluice.yaml (both services read the same file): the
 * targets the operator declared, each with its default masking profile, and the profile names
 * ext-proc has. The masking default is decided here, once: ext-authz puts the exchange's profile
 * in its decision and ext-proc applies exactly that.
 */
export function policyContext(config: SluiceConfig): PolicyContext {
  const targets = new Map<string, TargetFacts>();
  for (const target of config.targets) {
    targets.set(target.name, { protocol: target.protocol, masking: config.extProc.masking.targets[target.name] ?? null });
  }
  return {
    targets,
    maskingProfiles: new Set(config.extProc.masking.profiles.map((profile) => String((profile as { name?: unknown }).name))),
  };
}
