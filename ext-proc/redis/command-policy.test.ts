import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileCommandPolicy } from './command-policy.ts';
import type { RedisRuleSpec } from '../../common/redis-check.ts';
import { encodeCommand } from '../../common/redis/resp.ts';
import { CommandReader, type CommandBatch } from './command-reader.ts';

const WORKERS: RedisRuleSpec[] = [
  { id: 'workers/no-scripts', effect: 'deny', commands: ['script'], keys: null },
  { id: 'workers/no-secrets', effect: 'deny', commands: ['*'], keys: ['jobs:secret:*'] },
  { id: 'workers/jobs', effect: 'allow', commands: ['GET', 'SET', 'DEL', 'MGET'], keys: ['jobs:*'] },
];
const ANALYSTS: RedisRuleSpec[] = [{ id: 'analysts/read', effect: 'allow', commands: ['read'], keys: null }];
const DENIED = new Set(['CONFIG', 'SELECT', 'KEYS']);
/** One command, read as the session reads it. */
const batch = (args: (string | Buffer)[]): CommandBatch => new CommandReader().push(encodeCommand(args.map((a) => Buffer.from(a))));
const run = (rules: RedisRuleSpec[], ...args: string[]) => compileCommandPolicy(rules, DENIED, 'w1')(args[0]!.toUpperCase(), batch(args), 0);

test('workers: GET/SET/DEL under jobs:* only; every key must match; a deny rule on any key wins', () => {
  assert.equal(run(WORKERS, 'GET', 'jobs:1').allowed, true);
  assert.equal(run(WORKERS, 'SET', 'jobs:1', 'v').rule, 'workers/jobs');
  assert.equal(run(WORKERS, 'MGET', 'jobs:1', 'jobs:2').allowed, true);
  const mixed = run(WORKERS, 'MGET', 'jobs:1', 'users:2');
  assert.equal(mixed.allowed, false);
  assert.match((mixed as { message: string }).message, /MGET on "jobs:1", "users:2" is not allowed for "w1"/);
  const secret = run(WORKERS, 'GET', 'jobs:secret:1');
  assert.equal(secret.rule, 'workers/no-secrets');
  assert.equal(run(WORKERS, 'HGET', 'jobs:1', 'f').allowed, false, 'not a listed command');
  assert.equal(run(WORKERS, 'EVAL', 'return 1', '1', 'jobs:1').rule, 'workers/no-scripts');
  assert.equal(run(WORKERS, 'SCAN', '0').allowed, false, 'a rule with keys never covers a keyless command');
});

test('analysts: read class, any key; writes refused; connection and transaction commands pass; the deny list beats every rule', () => {
  assert.equal(run(ANALYSTS, 'GET', 'anything').allowed, true);
  assert.equal(run(ANALYSTS, 'HGETALL', 'h').allowed, true);
  assert.equal(run(ANALYSTS, 'SET', 'k', 'v').allowed, false);
  assert.equal(run(ANALYSTS, 'PING').allowed, true);
  assert.equal(run(ANALYSTS, 'MULTI').allowed, true);
  assert.equal(run([{ id: 'all/all', effect: 'allow', commands: ['*'], keys: null }], 'CONFIG', 'GET', '*').allowed, false);
  assert.match((run(ANALYSTS, 'config', 'get', '*') as { message: string }).message, /CONFIG is refused on this target for everyone/);
});

test('EVAL-like commands: keys come from numkeys; arguments that do not say which keys are refused', () => {
  const scripts: RedisRuleSpec[] = [{ id: 's/jobs', effect: 'allow', commands: ['EVAL'], keys: ['jobs:*'] }];
  assert.equal(run(scripts, 'EVAL', 'return 1', '1', 'jobs:1', 'arg').allowed, true);
  assert.equal(run(scripts, 'EVAL', 'return 1', '1', 'users:1').allowed, false);
  assert.equal(run(scripts, 'EVAL', 'return 1', '5', 'jobs:1').allowed, false);
  assert.equal(run(scripts, 'EVAL', 'return 1', 'x').allowed, false);
  // A destination before numkeys (ZUNIONSTORE) is a key too; MSET's keys are every other argument.
  const stores: RedisRuleSpec[] = [{ id: 's/jobs', effect: 'allow', commands: ['ZUNIONSTORE', 'MSET'], keys: ['jobs:*'] }];
  assert.equal(run(stores, 'ZUNIONSTORE', 'jobs:out', '2', 'jobs:a', 'jobs:b').allowed, true);
  assert.equal(run(stores, 'ZUNIONSTORE', 'users:out', '2', 'jobs:a', 'jobs:b').allowed, false);
  assert.equal(run(stores, 'ZUNIONSTORE', 'jobs:out', '2', 'jobs:a', 'users:b').allowed, false);
  assert.equal(run(stores, 'MSET', 'jobs:1', 'users:1', 'jobs:2', 'v').allowed, true, 'values are not keys');
  assert.equal(run(stores, 'MSET', 'jobs:1', 'v', 'users:1', 'v').allowed, false);
});

test('key globs match the same whether compared as bytes (a literal, a literal then *) or by the expression (anything else)', () => {
  const rules = (keys: string[]): RedisRuleSpec[] => [{ id: 'k/k', effect: 'allow', commands: ['GET'], keys }];
  const cases: [string[], string, boolean][] = [
    [['jobs:*'], 'jobs:1', true], [['jobs:*'], 'jobs:', true], [['jobs:*'], 'job', false], [['jobs:*'], 'xjobs:1', false],
    [['exact'], 'exact', true], [['exact'], 'exact2', false], [['exact'], 'exac', false],
    [['*'], '', true], [['*'], 'anything', true], [[''], '', true], [[''], 'x', false],
    [['j?bs:*'], 'jobs:1', true], [['j?bs:*'], 'jbs:1', false], [['a*b'], 'a-x-b', true], [['a*b'], 'a-x-c', false],
    [['ключ:*'], 'ключ:1', true], [['ключ:*'], 'клю', false], [['k?:*'], 'ké:1', true],
    [['[x]*'], '[x]1', true], [['a.b'], 'axb', false], [['jobs:*', 'users:1'], 'users:1', true], [['jobs:*', 'users:1'], 'users:2', false],
  ];
  for (const [globs, key, allowed] of cases) assert.equal(run(rules(globs), 'GET', key).allowed, allowed, `${JSON.stringify(globs)} ${key}`);
  // Invalid UTF-8 decodes to U+FFFD: a glob naming U+FFFD matches it through the text, as before.
  const invalid = compileCommandPolicy(rules(['\uFFFD*']), DENIED, 'w1')('GET', batch(['GET', Buffer.from([0xff, 0x31])]), 0);
  assert.equal(invalid.allowed, true);
  const deny: RedisRuleSpec[] = [{ id: 'd/d', effect: 'deny', commands: ['*'], keys: ['secret:*'] }, { id: 'a/a', effect: 'allow', commands: ['*'], keys: null }];
  assert.equal(run(deny, 'MGET', 'ok', 'secret:1').rule, 'd/d');
  assert.match((run(deny, 'MGET', 'ok', 'secret:1') as { message: string }).message, /MGET on "secret:1" is denied by policy rule d\/d/);
});

test('a name is planned once per login, whatever case or order: the same verdicts on the second and later commands', () => {
  const policy = compileCommandPolicy(WORKERS, DENIED, 'w1');
  for (let i = 0; i < 3; i++) {
    assert.equal(policy('GET', batch(['GET', 'jobs:1']), 0).allowed, true);
    assert.equal(policy('GET', batch(['GET', 'jobs:secret:1']), 0).rule, 'workers/no-secrets');
    assert.equal(policy('CONFIG', batch(['CONFIG', 'GET', 'x']), 0).allowed, false);
  }
  for (let i = 0; i < 300; i++) assert.equal(policy(`X${i}`, batch([`X${i}`, 'jobs:1']), 0).allowed, false, 'unknown names past the plan bound are still refused');
});
