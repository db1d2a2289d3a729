import type { SluiceConfig } from '../common/config.ts';
import { SluiceError } from '../common/errors.ts';

/** How to present a target's real credential upstream: which header, and the value around the secret. */
export interface CredentialPlan {
  header: string;
  prefix: string;
  suffix: string;
  secret: string;
}

/** Compiles the `extProc.credentials` list once: a target may appear only once. */
export function compileCredentials(entries: SluiceConfig['extProc']['credentials']): ReadonlyMap<string, CredentialPlan> {
  const plans = new Map<string, CredentialPlan>();
  for (const [i, entry] of entries.entries()) {
    if (plans.has(entry.target)) {
      throw new SluiceError('ERR_CONFIG_INVALID', `extProc.credentials[${i}]: target "${entry.target}" already has a credential`);
    }
    const at = entry.template.indexOf('{secret}');
    plans.set(entry.target, {
      header: entry.header.toLowerCase(),
      prefix: entry.template.slice(0, at),
      suffix: entry.template.slice(at + '{secret}'.length),
      secret: entry.secret,
    });
  }
  return plans;
}
