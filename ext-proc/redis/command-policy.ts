import { commandKeys, redisCommandInfo, REDIS_COMMAND_CLASSES } from '../../common/redis/commands.ts';
import type { RedisRuleSpec } from '../../common/redis-check.ts';

/** What one command may do for the logged-in identity. */
export type CommandVerdict =
  | { allowed: true; rule: string | null; keys: Buffer[] }
  | { allowed: false; rule: string | null; message: string; keys: Buffer[] };

export type CommandPolicy = (name: string, args: readonly Buffer[]) => CommandVerdict;

interface CompiledRule {
  id: string;
  effect: 'allow' | 'deny';
  any: boolean;
  names: ReadonlySet<string>;
  classes: ReadonlySet<string>;
  keys: RegExp | null;
}

const CLASSES: ReadonlySet<string> = new Set(REDIS_COMMAND_CLASSES);

/**
 * The login's command rules (decided by ext-authz for this identity) as one function, compiled
 * once per login. Order of the checks, and why: the target's deny list first (no rule can let
 * those through); connection and transaction commands pass (they carry no data); a command whose
 * keys cannot be read is refused (it could touch anything); then any matching deny rule (any key
 * matching), then the first allow rule that covers the command and every one of its keys (a rule
 * with keys never covers a keyless command such as SCAN); else refused.
 */
export function compileCommandPolicy(rules: readonly RedisRuleSpec[], denied: ReadonlySet<string>, subject: string): CommandPolicy {
  const compiled = rules.map(compileRule);
  const denyRules = compiled.filter((r) => r.effect === 'deny');
  const allowRules = compiled.filter((r) => r.effect === 'allow');
  return (name, args) => {
    const info = redisCommandInfo(name);
    if (denied.has(name)) return { allowed: false, rule: null, keys: [], message: `${name} is refused on this target for everyone` };
    if (info.kind === 'connection' || info.kind === 'transaction') return { allowed: true, rule: null, keys: [] };
    const keys = commandKeys(info, args, (b) => b.toString('latin1'));
    if (keys === undefined) return { allowed: false, rule: null, keys: [], message: `the arguments of ${name} do not say which keys it touches` };
    const texts = keys.map((k) => k.toString('utf8'));
    for (const rule of denyRules) {
      if (!covers(rule, name, info.kind)) continue;
      const hit = rule.keys === null ? null : texts.find((k) => rule.keys!.test(k));
      if (rule.keys === null || hit !== undefined) {
        return { allowed: false, rule: rule.id, keys, message: `${name}${hit ? ` on ${quoted(hit)}` : ''} is denied by policy rule ${rule.id}` };
      }
    }
    for (const rule of allowRules) {
      if (!covers(rule, name, info.kind)) continue;
      if (rule.keys === null || (texts.length > 0 && texts.every((k) => rule.keys!.test(k)))) return { allowed: true, rule: rule.id, keys };
    }
    const on = texts.length === 0 ? '' : ` on ${texts.slice(0, 3).map(quoted).join(', ')}${texts.length > 3 ? ', …' : ''}`;
    return { allowed: false, rule: null, keys, message: `${name}${on} is not allowed for "${subject}" by policy` };
  };
}

function compileRule(spec: RedisRuleSpec): CompiledRule {
  return {
    id: spec.id,
    effect: spec.effect,
    any: spec.commands.includes('*'),
    names: new Set(spec.commands.filter((c) => !CLASSES.has(c) && c !== '*').map((c) => c.toUpperCase())),
    classes: new Set(spec.commands.filter((c) => CLASSES.has(c))),
    keys: spec.keys === null ? null : keyGlobs(spec.keys),
  };
}

function covers(rule: CompiledRule, name: string, kind: string): boolean {
  return rule.any || rule.names.has(name) || rule.classes.has(kind);
}

/** Key globs: `*` any run (":" included), `?` one character, `[...]` kept out: everything else literal. */
function keyGlobs(globs: readonly string[]): RegExp {
  const one = (glob: string) => [...glob].map((c) => (c === '*' ? '[\\s\\S]*' : c === '?' ? '[\\s\\S]' : c.replace(/[\\^$.|+()[\]{}/]/g, '\\$&'))).join('');
  return new RegExp(`^(?:${globs.map(one).join('|')})$`, 'u');
}

function quoted(key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);
}
