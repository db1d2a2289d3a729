import type { Identity } from '../identity/types.ts';
import type { CompiledPolicy, CompiledRule } from './compiled.ts';
import { frozenDecision, UNKNOWN_TARGET } from './decisions.ts';
import { matchingSubject } from './match-subject.ts';
import type { Decision } from './types.ts';

/** A redis login: who, to which target, with which AUTH user name ('' for `AUTH <token>`). */
export interface RedisLoginRequest {
  identity: Identity;
  target: string;
  username: string;
  sourceAddress?: string | undefined;
}

/** The command rules a login carries (for ext-proc's per-command checks), in evaluation order. */
export interface RedisCommandRule {
  id: string;
  effect: 'allow' | 'deny';
  commands: readonly string[];
  keys: readonly string[] | null;
}

export interface RedisLoginDecision {
  decision: Decision;
  denial: { code: 'ERR_REDIS_LOGIN_DENIED'; message: string } | null;
  /** The grant's cap on the login's life (ms), or null: the token's exp alone. */
  maxSessionMs: number | null;
  /** Allowed logins: every command rule of the target's policies whose subjects match (deny rules first). */
  rules: readonly RedisCommandRule[];
}

const LOGIN_DENIED = frozenDecision('deny', null, 'no redis grant allows this login');

/**
 * A login is allowed by the first policy (load order) of the target whose subjects match and that
 * has a `redis:` block; its rule is `<policy>/redis`. The AUTH user name, when the client gives
 * one, must be "default" or the token's subject: a client that names another user expects to act
 * as it, and the gateway logs in upstream as its own user whatever the name.
 */
export function evaluateRedisLogin(byTarget: ReadonlyMap<string, readonly CompiledPolicy[]>, request: RedisLoginRequest): RedisLoginDecision {
  const policies = byTarget.get(request.target);
  if (policies === undefined) return { decision: UNKNOWN_TARGET, denial: null, maxSessionMs: null, rules: [] };
  const who = `"${request.identity.subject}" (issuer ${request.identity.issuerName})`;
  if (request.username !== '' && request.username !== 'default' && request.username !== request.identity.subject) {
    return {
      decision: LOGIN_DENIED, maxSessionMs: null, rules: [],
      denial: { code: 'ERR_REDIS_LOGIN_DENIED', message: `AUTH names user "${request.username.slice(0, 64)}", which is not the token's subject ${who}; send AUTH <token> alone` },
    };
  }
  const matching = policies.filter((policy) => matchingSubject(policy, request.identity) >= 0);
  const grant = matching.find((policy) => policy.redis !== null)?.redis ?? null;
  if (grant === null) {
    return {
      decision: LOGIN_DENIED, maxSessionMs: null, rules: [],
      denial: { code: 'ERR_REDIS_LOGIN_DENIED', message: `identity ${who} may not log in to redis target "${request.target}"` },
    };
  }
  const rules = matching.flatMap((policy) => policy.rules.filter((rule) => rule.commands !== null));
  return { decision: grant.decision, denial: null, maxSessionMs: grant.maxSessionMs, rules: [...rules.filter((r) => r.effect === 'deny'), ...rules.filter((r) => r.effect !== 'deny')].map(commandRule) };
}

function commandRule(rule: CompiledRule): RedisCommandRule {
  // An approve effect on a command is refused: nothing can hold a redis command for a human.
  return { id: rule.id, effect: rule.effect === 'allow' ? 'allow' : 'deny', commands: rule.commands!.commands, keys: rule.commands!.keys };
}

/** Whether the target's rules can only be enforced per command (see compile.ts needsCommandChecks). */
export function redisNeedsCommandChecks(policies: readonly CompiledPolicy[]): boolean {
  return policies.some((policy) => policy.rules.some((rule) => rule.commands !== null
    && !(rule.effect === 'allow' && rule.commands.keys === null && rule.commands.commands.length === 1 && rule.commands.commands[0] === '*')));
}
