import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { globMatcher, globProblem } from './column-glob.ts';
import { compileProfile } from './compile-profile.ts';
import { MaskingProfileError } from './profile-error.ts';
import { HASH_KEY } from './test-fixtures.ts';

function issuesOf(spec: unknown, options = {}): string[] {
  try {
    compileProfile(spec, options);
  } catch (err) {
    assert.ok(err instanceof MaskingProfileError);
    assert.equal(err.code, 'ERR_MASKING_PROFILE_INVALID');
    return err.issues.map((i) => `${i.field}: ${i.message}`);
  }
  assert.fail('expected ERR_MASKING_PROFILE_INVALID');
}

describe('column globs', () => {
  it('* is any run, ? one character, case-insensitive, whole name', () => {
    const ssn = globMatcher('*ssn*');
    assert.ok(ssn('ssn') && ssn('customer_SSN') && ssn('SsN_last4'));
    assert.ok(!ssn('sn') && !ssn('s_s_n'));
    const email = globMatcher('email');
    assert.ok(email('EMAIL') && !email('email2') && !email('work_email'));
    const q = globMatcher('card_?');
    assert.ok(q('card_1') && q('CARD_é') && !q('card_') && !q('card_12'));
    assert.ok(globMatcher('*')('anything'));
    assert.ok(globMatcher('a*b*c')('aXXbYYc') && !globMatcher('a*b*c')('aXXcYYb'));
  });

  it('a glob of many stars stays fast on a long name', () => {
    const m = globMatcher('*a*a*a*a*a*a*a*a*b');
    const started = performance.now();
    assert.equal(m('a'.repeat(2000)), false);
    assert.ok(performance.now() - started < 500);
  });

  it('refuses empty, over-long, control and reserved characters', () => {
    assert.ok(globProblem('*ssn*') === null);
    for (const bad of ['', 'a'.repeat(129), 'a\nb', '[abc]', 'a{b}', 'a\\b', 42]) assert.notEqual(globProblem(bad), null, String(bad));
  });
});

describe('columns: in a profile', () => {
  it('compiles rules in order with their counting name and strategy', () => {
    const p = compileProfile(
      {
        name: 'cols',
        recognizers: [{ use: 'email', strategy: 'redact' }],
        columns: [
          { name: '*ssn*', strategy: 'redact' },
          { name: 'card_number', strategy: 'keep-last-4' },
          { name: 'Email', strategy: { type: 'hash', length: 10 } },
          { name: 'note', strategy: { type: 'redact', marker: '<hidden>' } },
        ],
      },
      { hashKey: HASH_KEY },
    );
    assert.deepEqual(p.columns.map((c) => [c.name, c.strategy]), [
      ['column:*ssn*', 'redact'],
      ['column:card_number', 'keep-last-4'],
      ['column:Email', 'hash'],
      ['column:note', 'redact'],
    ]);
    assert.ok(Object.isFrozen(p.columns) && Object.isFrozen(p.columns[0]));
    const [ssn, card, email, note] = p.columns;
    assert.ok(ssn!.matches('Customer_SSN') && email!.matches('EMAIL') && !email!.matches('emails'));
    assert.equal(ssn!.render(Buffer.from('123456789')).toString(), '[REDACTED:column:*ssn*]');
    assert.equal(card!.render(Buffer.from('4111111111111111')).toString(), '************1111');
    const tag = createHmac('sha256', HASH_KEY).update('Ada@Example.com').digest('hex').slice(0, 10);
    assert.equal(email!.render(Buffer.from('Ada@Example.com')).toString(), `[H:${tag}]`);
    assert.equal(note!.render(Buffer.from('x')).toString(), '<hidden>');
  });

  it('a profile of column rules alone is valid; an empty one still is not', () => {
    const p = compileProfile({ name: 'only-columns', columns: [{ name: '*ssn*', strategy: 'redact' }] });
    assert.equal(p.entries.length, 0);
    assert.equal(p.columns.length, 1);
    assert.deepEqual(issuesOf({ name: 'empty', columns: [] }), ['recognizers: a profile needs at least one recognizer, pattern or column rule']);
  });

  it('reports every bad rule with its field, together with other issues', () => {
    const issues = issuesOf({
      name: 'bad',
      recognizers: [{ use: 'passport', strategy: 'redact' }],
      columns: [
        { name: '[ssn]', strategy: 'redact' },
        { name: 'email', strategy: 'mask' },
        { name: 'EMAIL', strategy: 'redact' },
        { name: 'x', strategy: 'hash' },
        { name: 'y' },
        { name: 'z', strategy: 'redact', when: 'always' },
        'card',
      ],
    });
    assert.deepEqual(issues.map((i) => i.split(':')[0]), [
      'recognizers[0].use',
      'columns[0].name',
      'columns[1].strategy',
      'columns[2].name',
      'columns[3].strategy',
      'columns[4].strategy',
      'columns[5].when',
      'columns[6]',
    ]);
    assert.match(issues[1]!, /not a valid column glob: only \* and \? are wildcards/);
    assert.match(issues[3]!, /"EMAIL" is listed twice/);
    assert.match(issues[4]!, /needs a deployment key/);
    assert.deepEqual(issuesOf({ name: 'bad', columns: { name: 'x' } }), ['columns: must be a list']);
  });
});
