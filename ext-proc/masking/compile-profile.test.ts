import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileProfile } from './compile-profile.ts';
import { MaskingProfileError } from './profile-error.ts';
import { HASH_KEY } from './test-fixtures.ts';

/** Compiles `spec`, expecting ERR_MASKING_PROFILE_INVALID; returns the fields named. */
function invalidFields(spec: unknown, options = {}): string[] {
  try {
    compileProfile(spec, options);
  } catch (err) {
    assert.ok(err instanceof MaskingProfileError);
    assert.equal(err.code, 'ERR_MASKING_PROFILE_INVALID');
    assert.deepEqual(err.details.fields, err.issues.map((i) => i.field));
    return err.issues.map((i) => i.field);
  }
  assert.fail('expected ERR_MASKING_PROFILE_INVALID');
}

describe('compileProfile', () => {
  it('compiles a valid profile and reports its window and entries', () => {
    const p = compileProfile(
      {
        name: 'payments',
        recognizers: [{ use: 'card', strategy: 'keep-last-4' }, { use: 'private-key', strategy: 'redact' }],
        patterns: [{ name: 'order-id', pattern: String.raw`(?i)ord-\d{6}`, strategy: { type: 'hash', length: 12 } }],
        binary: 'pass',
      },
      { hashKey: HASH_KEY },
    );
    assert.equal(p.windowBytes, 16384);
    assert.equal(p.binary, 'pass');
    assert.deepEqual(p.entries.map((e) => [e.name, e.kind, e.strategy]), [
      ['order-id', 'pattern', 'hash'],
      ['private-key', 'recognizer', 'redact'],
      ['card', 'recognizer', 'keep-last-4'],
    ]);
    assert.ok(Object.isFrozen(p));
    assert.match(p.maskWhole(Buffer.from('ORD-123456')).toString(), /^\[H:[0-9a-f]{12}\]$/);
  });

  it('windowBytes follows maxLength overrides and maxMatchBytes for custom patterns', () => {
    const p = compileProfile({ name: 'w', maxMatchBytes: 128, recognizers: [{ use: 'email', strategy: 'redact' }], patterns: [{ name: 'x', pattern: 'x+y', strategy: 'redact' }] });
    assert.equal(p.windowBytes, 256);
    const q = compileProfile({ name: 'w', recognizers: [{ use: 'private-key', strategy: 'redact', maxLength: 4096 }] });
    assert.equal(q.windowBytes, 4096);
  });

  it('names a bad RE2 pattern', () => {
    assert.deepEqual(invalidFields({ name: 'p', patterns: [{ name: 'look', pattern: '(?=secret)', strategy: 'redact' }] }), ['patterns[0].pattern']);
    assert.deepEqual(invalidFields({ name: 'p', patterns: [{ name: 'ok', pattern: 'a', strategy: 'redact' }, { name: 'paren', pattern: '(a', strategy: 'redact' }] }), ['patterns[1].pattern']);
    assert.deepEqual(invalidFields({ name: 'p', patterns: [{ name: 'backref', pattern: String.raw`(a)\1`, strategy: 'redact' }] }), ['patterns[0].pattern']);
    assert.deepEqual(invalidFields({ name: 'p', patterns: [{ name: 'empty', pattern: 'x*', strategy: 'redact' }] }), ['patterns[0].pattern']);
  });

  it('names an unknown recognizer and a duplicate', () => {
    assert.deepEqual(invalidFields({ name: 'p', recognizers: [{ use: 'passport', strategy: 'redact' }] }), ['recognizers[0].use']);
    assert.deepEqual(invalidFields({ name: 'p', recognizers: [{ use: 'card', strategy: 'redact' }, { use: 'card', strategy: 'hash' }] }, { hashKey: HASH_KEY }), ['recognizers[1].use']);
  });

  it('names a bad strategy', () => {
    assert.deepEqual(invalidFields({ name: 'p', recognizers: [{ use: 'card', strategy: 'scramble' }] }), ['recognizers[0].strategy']);
    assert.deepEqual(invalidFields({ name: 'p', recognizers: [{ use: 'card', strategy: 'keep-last-0' }] }), ['recognizers[0].strategy']);
    assert.deepEqual(invalidFields({ name: 'p', recognizers: [{ use: 'card', strategy: { type: 'keep-last', n: 99 } }] }), ['recognizers[0].strategy.n']);
    assert.deepEqual(invalidFields({ name: 'p', recognizers: [{ use: 'card', strategy: { type: 'redact', marker: 'x\ny' } }] }), ['recognizers[0].strategy.marker']);
    assert.deepEqual(invalidFields({ name: 'p', recognizers: [{ use: 'card', strategy: { type: 'hash', salt: 'x' } }] }, { hashKey: HASH_KEY }), ['recognizers[0].strategy.salt']);
    assert.deepEqual(invalidFields({ name: 'p', recognizers: [{ use: 'card' }] }), ['recognizers[0].strategy']);
  });

  it('hash needs a deployment key', () => {
    assert.deepEqual(invalidFields({ name: 'p', recognizers: [{ use: 'ssn', strategy: 'hash' }] }), ['recognizers[0].strategy']);
    assert.deepEqual(invalidFields({ name: 'p', recognizers: [{ use: 'ssn', strategy: 'hash' }] }, { hashKey: Buffer.alloc(8) }), ['recognizers[0].strategy']);
  });

  it('checks every other field and reports all issues at once', () => {
    const fields = invalidFields({
      name: '',
      colour: 'blue',
      maxMatchBytes: 3,
      binary: 'drop',
      recognizers: [{ use: 'email', strategy: 'redact', maxLength: 2 }, 'card'],
      patterns: [{ name: 'Bad Name', pattern: 'x', strategy: 'redact' }, { name: 'ok', pattern: 'y', strategy: 'redact', extra: 1 }],
    });
    assert.deepEqual(fields.sort(), [
      'binary', 'colour', 'maxMatchBytes', 'name', 'patterns[0].name', 'patterns[1].extra', 'recognizers[0].maxLength', 'recognizers[1]',
    ]);
    assert.deepEqual(invalidFields({ name: 'empty' }), ['recognizers']);
    assert.deepEqual(invalidFields('not an object'), ['']);
    assert.deepEqual(invalidFields({ name: 'p', recognizers: { use: 'card' } }), ['recognizers']);
  });

  it('does not echo a pattern in the error message', () => {
    try {
      compileProfile({ name: 'p', patterns: [{ name: 'leak', pattern: 'hunter2(?=x)', strategy: 'redact' }] });
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(!(err as Error).message.includes('hunter2'), (err as Error).message);
    }
  });
});
