import { commandKeyIndexes, keyCount, keyIndex, noKeyIndexes, redisCommandInfo, REDIS_COMMAND_CLASSES, type KeyIndexes, type RedisCommandInfo } from '../../common/redis/commands.ts';
import type { RedisRuleSpec } from '../../common/redis-check.ts';
import type { CommandBatch } from './command-reader.ts';

/** What one command may do for the logged-in identity. An allowed verdict is shared (one per rule): read it, never keep changes to it. */
export type CommandVerdict =
  | { readonly allowed: true; readonly rule: string | null }
  | { readonly allowed: false; readonly rule: string | null; readonly message: string };

/** The verdict on command c of the batch, whose upper-case name is `name`. */
export type CommandPolicy = (name: string, batch: CommandBatch, c: number) => CommandVerdict;

interface CompiledRule {
  id: string;
  effect: 'allow' | 'deny';
  any: boolean;
  names: ReadonlySet<string>;
  classes: ReadonlySet<string>;
  keys: KeyMatcher | null;
  allowed: CommandVerdict;
}

/** Whether one key (buf[start, end), as sent) matches a rule's globs. */
type KeyMatcher = (buf: Buffer, start: number, end: number) => boolean;

const FREE: CommandVerdict = Object.freeze({ allowed: true, rule: null });

/** What a command name meets, worked out once per name and login: its info and the rules that cover it. */
interface NamePlan {
  info: RedisCommandInfo;
  denied: boolean;
  deny: readonly CompiledRule[];
  allow: readonly CompiledRule[];
}

const CLASSES: ReadonlySet<string> = new Set(REDIS_COMMAND_CLASSES);
/** Names planned per login; past it a name is planned per command (unknown names are the client's to invent). */
const MAX_PLANS = 256;

/**
 * The login's command rules (decided by ext-authz for this identity) as one function, compiled
 * once per login. Order of the checks, and why: the target's deny list first (no rule can let
 * those through); connection and transaction commands pass (they carry no data); a command whose
 * keys cannot be read is refused (it could touch anything); then any matching deny rule (any key
 * matching), then the first allow rule that covers the command and every one of its keys (a rule
 * with keys never covers a keyless command such as SCAN); else refused.
 * Per command it only reads keys: which rules cover a name is planned the first time it is seen,
 * and keys are matched as bytes where a glob allows (measured: a third of the check's time went to
 * decoding keys into strings for the regex).
 */
export function compileCommandPolicy(rules: readonly RedisRuleSpec[], denied: ReadonlySet<string>, subject: string): CommandPolicy {
  const compiled = rules.map(compileRule);
  const plans = new Map<string, NamePlan>();
  const planOf = (name: string): NamePlan => {
    const known = plans.get(name);
    if (known) return known;
    const info = redisCommandInfo(name);
    const covering = compiled.filter((r) => covers(r, name, info.kind));
    const plan = { info, denied: denied.has(name), deny: covering.filter((r) => r.effect === 'deny'), allow: covering.filter((r) => r.effect === 'allow') };
    if (plans.size < MAX_PLANS) plans.set(name, plan);
    return plan;
  };
  // One per login, reused for every command: the policy runs to its end before the next command.
  const keys: KeyIndexes = noKeyIndexes();
  return (name, batch, c) => {
    const plan = planOf(name);
    if (plan.denied) return { allowed: false, rule: null, message: `${name} is refused on this target for everyone` };
    if (plan.info.kind === 'connection' || plan.info.kind === 'transaction') return FREE;
    if (!readKeyIndexes(plan.info, batch, c, keys)) return { allowed: false, rule: null, message: `the arguments of ${name} do not say which keys it touches` };
    const count = keyCount(keys);
    const buf = batch.bytes(c);
    for (const rule of plan.deny) {
      if (rule.keys === null) return { allowed: false, rule: rule.id, message: `${name} is denied by policy rule ${rule.id}` };
      for (let n = 0; n < count; n++) {
        const a = keyIndex(keys, n);
        if (rule.keys(buf, batch.argStart(c, a), batch.argEnd(c, a))) {
          return { allowed: false, rule: rule.id, message: `${name} on ${quoted(batch.argText(c, a, 'utf8'))} is denied by policy rule ${rule.id}` };
        }
      }
    }
    for (const rule of plan.allow) {
      if (rule.keys === null) return rule.allowed;
      let all = count > 0;
      for (let n = 0; n < count && all; n++) {
        const a = keyIndex(keys, n);
        all = rule.keys(buf, batch.argStart(c, a), batch.argEnd(c, a));
      }
      if (all) return rule.allowed;
    }
    const texts: string[] = [];
    for (let n = 0; n < Math.min(count, 4); n++) texts.push(batch.argText(c, keyIndex(keys, n), 'utf8'));
    const on = texts.length === 0 ? '' : ` on ${texts.slice(0, 3).map(quoted).join(', ')}${count > 3 ? ', …' : ''}`;
    return { allowed: false, rule: null, message: `${name}${on} is not allowed for "${subject}" by policy` };
  };
}

/** Where command c's keys are (commandKeyIndexes, reading its numkeys argument where it has one): false when that cannot be known. */
export function readKeyIndexes(info: RedisCommandInfo, batch: CommandBatch, c: number, into: KeyIndexes): boolean {
  const spec = info.keys;
  const numkeys = spec.kind === 'numkeys' && spec.numkeysAt < batch.argc(c) ? Number(batch.argText(c, spec.numkeysAt)) : NaN;
  return commandKeyIndexes(info, batch.argc(c), numkeys, into);
}

function compileRule(spec: RedisRuleSpec): CompiledRule {
  return {
    allowed: Object.freeze({ allowed: true, rule: spec.id }),
    id: spec.id,
    effect: spec.effect,
    any: spec.commands.includes('*'),
    names: new Set(spec.commands.filter((c) => !CLASSES.has(c) && c !== '*').map((c) => c.toUpperCase())),
    classes: new Set(spec.commands.filter((c) => CLASSES.has(c))),
    keys: spec.keys === null ? null : keyMatcher(spec.keys),
  };
}

function covers(rule: CompiledRule, name: string, kind: string): boolean {
  return rule.any || rule.names.has(name) || rule.classes.has(kind);
}

/**
 * Key globs: `*` any run (":" included), `?` one character, `[...]` kept out: everything else
 * literal. A key is matched as the UTF-8 text it decodes to. Globs that are a literal, or a
 * literal then one trailing `*`, are compared as bytes, which is the same answer for that text
 * (UTF-8 decoding keeps a prefix of whole characters); one holding U+FFFD (or a lone surrogate,
 * which encodes as U+FFFD) is not, since invalid bytes decode to it. The rest go through one
 * regular expression.
 */
function keyMatcher(globs: readonly string[]): KeyMatcher {
  const exact: Buffer[] = [];
  const prefixes: Buffer[] = [];
  const patterns: string[] = [];
  for (const glob of globs) {
    const literal = glob.endsWith('*') ? glob.slice(0, -1) : glob;
    const bytes = Buffer.from(literal, 'utf8');
    if (!/[*?]/.test(literal) && !literal.includes('\uFFFD') && bytes.toString('utf8') === literal) (literal === glob ? exact : prefixes).push(bytes);
    else patterns.push([...glob].map((c) => (c === '*' ? '[\\s\\S]*' : c === '?' ? '[\\s\\S]' : c.replace(/[\\^$.|+()[\]{}/]/g, '\\$&'))).join(''));
  }
  const regex = patterns.length === 0 ? null : new RegExp(`^(?:${patterns.join('|')})$`, 'u');
  return (buf, start, end) => {
    const length = end - start;
    for (const prefix of prefixes) if (length >= prefix.length && startsWith(buf, start, prefix)) return true;
    for (const value of exact) if (length === value.length && startsWith(buf, start, value)) return true;
    return regex !== null && regex.test(buf.toString('utf8', start, end));
  };
}

function startsWith(buf: Buffer, start: number, prefix: Buffer): boolean {
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix[i]) return false;
  return true;
}

function quoted(key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);
}
