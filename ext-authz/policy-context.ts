import type { ConfigSubscriber, SluiceConfig } from '../common/config.ts';
import { formatIssue, loadPolicyDir, PolicyError, type PolicyContext, type PolicyStore, type TargetFacts } from './policy/index.ts';

/**
 * What policies are checked against, from sluice.yaml (both services read the same file): the
 * targets the operator declared, each with its default masking profile, and the profile names
 * ext-proc has. The masking default is decided here, once: ext-authz puts the exchange's profile
 * in its decision and ext-proc applies exactly that.
 */
export function policyContext(config: SluiceConfig): PolicyContext {
  const targets = new Map<string, TargetFacts>();
  for (const target of config.targets) {
    targets.set(target.name, {
      protocol: target.protocol,
      masking: config.extProc.masking.targets[target.name] ?? null,
      grantableRoles: target.postgres?.sessionRoles ? new Set(target.postgres.sessionRoles.grantable) : null,
      ...(target.redis ? { redisCommands: target.redis.commands } : {}),
    });
  }
  return {
    targets,
    maskingProfiles: new Set(config.extProc.masking.profiles.map((profile) => String((profile as { name?: unknown }).name))),
  };
}

/**
 * Keeps a policy store in step with sluice.yaml. A config that drops a target some policy still
 * names is refused whole: the policy file and line are in the reason, and nothing of the new
 * config goes live. Policies that never loaded have nothing live to protect, so any config is
 * let through: the new context may be what fixes them.
 */
export function policyContextSubscriber(name: string, policies: PolicyStore): ConfigSubscriber {
  return {
    name,
    check: async (next) => {
      if (!policies.loaded) return { ok: true };
      try {
        await loadPolicyDir(policies.dir, policyContext(next));
        return { ok: true };
      } catch (err) {
        return { ok: false, reason: err instanceof PolicyError ? `the policies do not load with it: ${err.issues.map(formatIssue).join('; ')}` : String(err) };
      }
    },
    apply: async (next) => {
      const result = await policies.setContext(policyContext(next));
      return result.ok || !policies.loaded ? { ok: true } : { ok: false, reason: result.error.message };
    },
  };
}
