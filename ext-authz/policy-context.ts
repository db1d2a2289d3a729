import type { SluiceConfig } from '../common/config.ts';
import type { PolicyContext } from './policy/index.ts';

/** Policies may only name masking profiles ext-proc has; both services read the same sluice.yaml. */
export function policyContext(config: SluiceConfig): PolicyContext {
  return { maskingProfiles: new Set(config.extProc.masking.profiles.map((profile) => String((profile as { name?: unknown }).name))) };
}
